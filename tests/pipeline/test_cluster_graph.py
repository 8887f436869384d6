"""make slurm and make gan with gan.executor: ray, on a tiny piece: the job array's tasks
(run here as Slurm would run them), an embedded Ray and a local render write the same
segments into gan.cache_dir, and how or where the render runs changes no build file."""

from __future__ import annotations

import os
import subprocess

import pytest
from build_helpers import make, piece_dir, scripts_run, tiny_piece

PARAMS = """\
piece: {name: tiny, score: tiny.mid, title: Tiny}
stems: {tail_s: 0.2}
features: {fps: 10}
gan: {model: cppn, size_px: 32, segment_s: 0.5, cache_dir: shared/cache}
"""


def segment_bytes(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.glob("[0-9a-f]*.mkv"))}


@pytest.mark.ray
def test_a_slurm_array_an_embedded_ray_and_a_local_render_write_the_same_cache(tmp_path):
    pytest.importorskip("ray")
    tiny_piece(tmp_path, PARAMS)
    make(tmp_path, "slurm")
    build = piece_dir(tmp_path)
    script = build / "gan/slurm.sh"
    text = script.read_text()
    assert "#SBATCH --array=1-5" in text and "#SBATCH --job-name=dreamreel-tiny" in text
    # Each array task as Slurm runs it: the same script, with its task id.
    for task in range(1, 6):
        subprocess.run(["bash", str(script)], env=dict(os.environ, SLURM_ARRAY_TASK_ID=str(task)), check=True, capture_output=True, cwd="/")
    cache = tmp_path / "shared/cache"  # gan.cache_dir, relative to the params file's folder
    array = segment_bytes(cache)
    assert len(array) == 5
    assert not (build / "gan/segments.json").exists()  # the tasks write no manifest ...
    result = make(tmp_path, "gan")  # ... the render after them does, finding every segment
    assert "5 cached, 0 to render" in result.stderr
    assert (build / "gan/frames.mkv").is_file() and not (build / "gan/segments").exists()

    # Where and how the render runs changes no frame: editing it reruns nothing but the split.
    (tmp_path / "params.yaml").write_text(PARAMS.replace("cache_dir: shared/cache", "cache_dir: other, executor: ray, ray_workers: 2"))
    result = make(tmp_path, "gan")
    assert scripts_run(result) == ["params.py", "effects_plan.py"]
    # A render on an embedded Ray (here, by deleting the render's outputs) fills the new cache alike.
    for name in ("segments.json", "frames.mkv"):
        (build / "gan" / name).unlink()
    result = make(tmp_path, "gan")
    assert "an embedded Ray on this machine: 2 worker(s)" in result.stderr
    assert "0 cached, 5 to render" in result.stderr
    assert segment_bytes(tmp_path / "other") == array
