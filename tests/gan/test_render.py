"""Segment rendering: exact frame count and rate, resume, locality, determinism, memory, CLI."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from dreamreel.core.errors import run_cli
from dreamreel.core.ffmpeg_tools import find_ffmpeg
from dreamreel.core.ffmpeg_tools import probe_video as probe
from dreamreel.core.npz import open_npz, save_npz
from dreamreel.gan import render
from dreamreel.gan.models.cppn import CPPN
from gan_helpers import music, walk, write_params, write_wav

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def cli(module: str, *args) -> int:
    script = __import__(module)
    return run_cli(script.main, [str(a) for a in args])


def test_plan_segments_covers_every_frame_once():
    assert render.plan_segments(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert render.plan_segments(0, 4) == []


@pytest.mark.parametrize("fps", [24, 25, 30, 60, "30000/1001"])
def test_song_to_frames_has_ceil_duration_frames_at_the_exact_rate(tmp_path, fps, monkeypatch):
    monkeypatch.setenv("PYTORCH_PRETRAINED_BIGGAN_CACHE", str(tmp_path / "no-cache"))
    seconds = 0.71
    song = write_wav(tmp_path / "song.wav", music(48000, seconds), 48000)
    assert cli("analyze", song, tmp_path / "features.npz", "--params", write_params(tmp_path / "f.json", {"fps": fps})) == 0
    assert cli("latents", tmp_path / "features.npz", tmp_path / "latents.npz", "--params", write_params(tmp_path / "l.json", {})) == 0
    gan = write_params(tmp_path / "g.json", {"model": "cppn", "size_px": 16, "segment_s": 0.25})
    assert cli("render_frames", tmp_path / "latents.npz", tmp_path / "segments.json", "--params", gan, "--segments-dir", tmp_path / "segments") == 0
    assert cli("concat_frames", tmp_path / "segments.json", tmp_path / "frames.mkv") == 0
    rate = Fraction(str(fps))
    info = probe(find_ffmpeg(), tmp_path / "frames.mkv")
    assert info.frames == math.ceil(Fraction(round(seconds * 48000), 48000) * rate)
    assert info.fps == rate and (info.width, info.height) == (16, 16)
    assert info.codec == "ffv1"
    assert info.tags["dreamreel_model"] == "cppn"


def _render(latents, folder, *, model=None, **kwargs):
    model = model or CPPN(size_px=16, seed=1)
    defaults = dict(fps=Fraction(30), segment_s=0.2, batch_size=4, progress_stream=open(os.devnull, "w"))
    defaults.update(kwargs)
    return render.render_segments(latents, model, folder, **defaults)


def test_rendering_twice_gives_identical_bytes(tmp_path):
    latents = walk(40)
    first = _render(latents, tmp_path / "a")
    second = _render(latents, tmp_path / "b")
    assert [s.key for s in first] == [s.key for s in second]
    for a, b in zip(first, second):
        assert a.path.read_bytes() == b.path.read_bytes()


class Interrupt(Exception):
    pass


class FailingModel:
    """Wraps a model and raises after ``limit`` batches: a render killed half-way."""

    def __init__(self, inner, limit):
        self.inner, self.limit, self.calls = inner, limit, 0
        self.name, self.identity, self.size_px, self.latent_keys = inner.name, inner.identity, inner.size_px, inner.latent_keys

    def render(self, latents):
        self.calls += 1
        if self.calls > self.limit:
            raise Interrupt
        return self.inner.render(latents)


def test_resume_after_an_interruption_gives_identical_segments(tmp_path):
    latents = walk(40)
    reference = _render(latents, tmp_path / "whole")
    folder = tmp_path / "resumed"
    with pytest.raises(Interrupt):
        _render(latents, folder, model=FailingModel(CPPN(size_px=16, seed=1), limit=5))
    done = sorted(p.name for p in folder.iterdir())
    assert 0 < len(done) < len(reference)
    assert not [name for name in done if name.startswith(".")]  # no half-written segment
    counting = FailingModel(CPPN(size_px=16, seed=1), limit=10**6)
    resumed = _render(latents, folder, model=counting)
    # Only the missing segments rendered, each in batches of 4 from its own first frame.
    missing = [s for s in reference if s.path.name not in done]
    assert counting.calls == sum(math.ceil(s.frames / 4) for s in missing)
    for a, b in zip(reference, resumed):
        assert a.path.name == b.path.name and a.path.read_bytes() == b.path.read_bytes()


def test_changing_the_tail_of_the_walk_rerenders_only_the_tail(tmp_path):
    latents = walk(40)
    before = _render(latents, tmp_path / "segments")
    changed = {k: np.array(v) for k, v in latents.items()}
    changed["noise"][36:] += 0.3  # segments hold 6 frames: only the last (36–39) changes
    counting = FailingModel(CPPN(size_px=16, seed=1), limit=10**6)
    after = _render(changed, tmp_path / "segments", model=counting)
    assert [s.key for s in before[:-1]] == [s.key for s in after[:-1]]
    assert before[-1].key != after[-1].key
    assert counting.calls == 1  # the last segment holds frames 36–39: one batch


def test_draft_uses_every_nth_frame_of_the_same_walk(tmp_path):
    latents = walk(31)
    model = CPPN(size_px=16, seed=1)
    segments = _render(latents, tmp_path / "draft", model=model, fps=Fraction(10), frame_stride=3)
    assert sum(s.frames for s in segments) == 11  # frames 0, 3, ..., 30
    render.write_manifest(tmp_path / "draft.json", segments, fps=Fraction(10), size_px=16, choice_metadata={}, n_frames=11)
    render.concat_segments(tmp_path / "draft.json", tmp_path / "draft.mkv")
    info = probe(find_ffmpeg(), tmp_path / "draft.mkv")
    assert info.frames == 11 and info.fps == 10
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(tmp_path / "draft.mkv"), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    frames = np.frombuffer(decoded, np.uint8).reshape(11, 16, 16, 3)
    expected = model.render({k: latents[k][[0, 3, 30]] for k in model.latent_keys})
    assert np.array_equal(frames[[0, 1, 10]], expected)


def test_frames_are_scaled_when_the_model_draws_another_size(tmp_path):
    latents = walk(6)
    segments = _render(latents, tmp_path / "s", model=CPPN(size_px=32, seed=1), out_size_px=16)
    render.write_manifest(tmp_path / "m.json", segments, fps=Fraction(30), size_px=16, choice_metadata={}, n_frames=6)
    render.concat_segments(tmp_path / "m.json", tmp_path / "v.mkv")
    info = probe(find_ffmpeg(), tmp_path / "v.mkv")
    assert (info.width, info.frames) == (16, 6)


CHILD = textwrap.dedent(
    """
    import os, sys
    from fractions import Fraction
    import numpy as np
    sys.path.insert(0, {scripts!r})
    from dreamreel.core.npz import open_npz
    from dreamreel.gan.render import render_segments

    class Gradient:
        name = identity = "gradient"
        size_px = 96
        latent_keys = ("noise",)
        def render(self, latents):
            level = (np.abs(latents["noise"][:, :1]) * 60).astype(np.uint8)
            return np.broadcast_to(level[:, :, None, None], (len(level), 96, 96, 3)).copy()

    render_segments(open_npz(sys.argv[1]), Gradient(), sys.argv[2], fps=Fraction(30), segment_s=1.0, batch_size=8,
                    progress_stream=open(os.devnull, "w"))
    # VmHWM is this process image's own peak; ru_maxrss would include the parent's RSS at fork.
    print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
    """
)


def test_memory_stays_flat_while_ten_times_more_frames_stream(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(scripts=str(SCRIPTS)))
    peaks = []
    for n in (150, 1500):
        data = walk(n)
        save_npz(tmp_path / f"walk{n}.npz", data)
        result = subprocess.run([sys.executable, str(script), str(tmp_path / f"walk{n}.npz"), str(tmp_path / f"seg{n}")], capture_output=True, text=True, check=True)
        peaks.append(int(result.stdout.strip().splitlines()[-1]) / 1024)
    # 1350 more frames of 96x96 RGB would be 37 MB if they piled up; the classes array alone
    # adds 5.4 MB to the file but is memory-mapped and never read by this model.
    print("peak RSS MB", peaks)
    assert peaks[1] - peaks[0] < 12, peaks


def test_unknown_model_exits_2_and_writes_nothing(tmp_path, capsys):
    save_npz(tmp_path / "latents.npz", walk(5))
    gan = write_params(tmp_path / "g.json", {"model": "stylegan9000"})
    out = tmp_path / "segments.json"
    assert cli("render_frames", tmp_path / "latents.npz", out, "--params", gan, "--segments-dir", tmp_path / "segments") == 2
    err = capsys.readouterr().err.strip()
    assert "gan.model" in err and "unknown model" in err and err.count("\n") == 0
    assert not out.exists()


def test_weights_folder_missing_files_exits_2(tmp_path, capsys):
    save_npz(tmp_path / "latents.npz", walk(5))
    (tmp_path / "weights").mkdir()
    gan = write_params(tmp_path / "g.json", {"model": "biggan-deep-128", "weights": str(tmp_path / "weights")})
    out = tmp_path / "segments.json"
    assert cli("render_frames", tmp_path / "latents.npz", out, "--params", gan, "--segments-dir", tmp_path / "segments") == 2
    err = capsys.readouterr().err
    assert "gan.weights" in err and "config.json and pytorch_model.bin" in err
    assert not out.exists()


def test_latents_without_the_models_keys_exit_2(tmp_path, capsys):
    data = walk(5)
    del data["classes"]
    save_npz(tmp_path / "latents.npz", data)
    gan = write_params(tmp_path / "g.json", {"model": "cppn", "size_px": 16})
    assert cli("render_frames", tmp_path / "latents.npz", tmp_path / "s.json", "--params", gan, "--segments-dir", tmp_path / "segments") == 2
    assert "classes" in capsys.readouterr().err


def test_concat_with_a_missing_segment_exits_2(tmp_path, capsys):
    segments = _render(walk(12), tmp_path / "segments")
    render.write_manifest(tmp_path / "m.json", segments, fps=Fraction(30), size_px=16, choice_metadata={}, n_frames=12)
    segments[1].path.unlink()
    assert cli("concat_frames", tmp_path / "m.json", tmp_path / "frames.mkv") == 2
    assert "missing" in capsys.readouterr().err
    assert not (tmp_path / "frames.mkv").exists()


def test_manifest_records_the_auto_choice(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTORCH_PRETRAINED_BIGGAN_CACHE", str(tmp_path / "no-cache"))
    save_npz(tmp_path / "latents.npz", walk(8))
    gan = write_params(tmp_path / "g.json", {"model": "auto", "size_px": 16, "segment_s": 0.25})
    assert cli("render_frames", tmp_path / "latents.npz", tmp_path / "s.json", "--params", gan, "--segments-dir", tmp_path / "segments") == 0
    manifest = json.loads((tmp_path / "s.json").read_text())
    assert manifest["metadata"]["dreamreel_model"] == "cppn"
    assert manifest["metadata"]["dreamreel_model_requested"] == "auto"
    assert sum(s["frames"] for s in manifest["segments"]) == 8
    assert open_npz(tmp_path / "latents.npz")["noise"].shape == (8, 128)


SLOW_CHILD = textwrap.dedent(
    """
    import os, sys, time
    from fractions import Fraction
    sys.path.insert(0, {scripts!r})
    from dreamreel.gan.models.cppn import CPPN
    from dreamreel.core.npz import open_npz
    from dreamreel.gan.render import render_segments

    class Slow(CPPN):
        def render(self, latents):
            time.sleep(float(os.environ.get("BATCH_DELAY_S", "0")))
            return super().render(latents)

    render_segments(open_npz(sys.argv[1]), Slow(size_px=16, seed=1), sys.argv[2], fps=Fraction(30), segment_s=0.2,
                    batch_size=4, progress_stream=open(os.devnull, "w"))
    """
)


def test_kill_9_mid_render_then_rerun_renders_only_the_rest_identically(tmp_path):
    import signal
    import time

    script = tmp_path / "slow.py"
    script.write_text(SLOW_CHILD.format(scripts=str(SCRIPTS)))
    save_npz(tmp_path / "latents.npz", walk(40))
    reference = _render(open_npz(tmp_path / "latents.npz"), tmp_path / "whole")
    folder = tmp_path / "killed"
    environment = dict(os.environ, BATCH_DELAY_S="0.3")
    child = subprocess.Popen([sys.executable, str(script), str(tmp_path / "latents.npz"), str(folder)], env=environment)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(folder.glob("[0-9a-f]*.mkv")):
        time.sleep(0.05)
    from system_helpers import children_of, gone_within, is_ffmpeg, wait_for

    (encoder,) = wait_for(lambda: list(filter(is_ffmpeg, children_of(child.pid))), 60, "the next segment's ffmpeg")
    child.send_signal(signal.SIGKILL)
    child.wait()
    # The segment's ffmpeg dies with the renderer, though the writer thread started it.
    assert gone_within(encoder, 5)
    finished = sorted(p.name for p in folder.glob("[0-9a-f]*.mkv"))
    assert 0 < len(finished) < len(reference)
    kept = {name: (folder / name).stat().st_mtime_ns for name in finished}
    subprocess.run([sys.executable, str(script), str(tmp_path / "latents.npz"), str(folder)], check=True, env=dict(os.environ, BATCH_DELAY_S="0"))
    assert not list(folder.glob(".*"))  # the killed run's temporary segment was cleaned up
    for segment in reference:
        assert (folder / segment.path.name).read_bytes() == segment.path.read_bytes()
    # Segments finished before the kill were kept, not rendered again.
    assert {name: (folder / name).stat().st_mtime_ns for name in finished} == kept


def test_the_segment_cache_deletes_unlisted_segments_least_recently_used_first(tmp_path):
    folder = tmp_path / "segments"
    first = _render(walk(12), folder)
    second = _render({k: np.asarray(v) + 0.5 for k, v in walk(12).items()}, folder)
    third = _render({k: np.asarray(v) - 0.5 for k, v in walk(12).items()}, folder)
    # Ages: first is oldest, then second; then first is used again (a cached reuse).
    for age_s, segments in ((300, first), (200, second), (100, third)):
        for segment in segments:
            os.utime(segment.path, (time.time() - age_s,) * 2)
    _render(walk(12), folder)
    render.write_manifest(tmp_path / "segments.json", third, fps=Fraction(30), size_px=16, choice_metadata={}, n_frames=12)
    size = {name: sum(s.path.stat().st_size for s in segments) for name, segments in (("first", first), ("second", second), ("third", third))}

    assert render.prune_segments(folder, [tmp_path / "segments.json"], limit_mb=None) == (0, 0)
    # Room for two renders: the least recently used unlisted one (second) goes.
    limit_mb = (size["first"] + size["third"] + 512) / 2**20
    assert render.prune_segments(folder, [tmp_path / "segments.json"], limit_mb=limit_mb) == (len(second), size["second"])
    assert not any(s.path.exists() for s in second)
    assert all(s.path.exists() for s in first + third)
    # No room at all: everything unlisted goes, but a listed segment is never deleted.
    render.prune_segments(folder, [tmp_path / "segments.json"], limit_mb=0)
    assert not any(s.path.exists() for s in first) and all(s.path.exists() for s in third)


def test_concat_on_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, capsys):
    """ffmpeg 5.1 exits 0 when the disk fills while it writes: the truncated file must not
    be taken for the video."""
    from system_helpers import full_disk

    segments = _render(walk(12), tmp_path / "segments")
    render.write_manifest(tmp_path / "segments.json", segments, fps=Fraction(30), size_px=16, choice_metadata={}, n_frames=12)
    with full_disk(tmp_path / "gan", size="16k") as gan:
        status = cli("concat_frames", tmp_path / "segments.json", gan / "frames.mkv")
        left = sorted(path.name for path in gan.iterdir())
    assert status == 2
    assert capsys.readouterr().err.strip() == f"dreamreel: error: {gan / 'frames.mkv'}: cannot write: no space left on the disk — free some space there, then run make again"
    assert left == ["filler"]


INTERRUPTED_CHILD = textwrap.dedent(
    """
    import os, sys, time
    from fractions import Fraction
    sys.path.insert(0, {scripts!r})
    from dreamreel.core.errors import run_cli
    from dreamreel.core.npz import open_npz
    from dreamreel.gan.models.cppn import CPPN
    from dreamreel.gan.render import render_segments

    class Slow(CPPN):
        # Busy in "the model" (as torch is, in C) when Ctrl-C comes.
        def render(self, latents):
            time.sleep(0.2)
            return super().render(latents)

    def main(argv):
        # 64 px: a batch is larger than a pipe buffer, so writes reach ffmpeg at once.
        render_segments(open_npz(sys.argv[1]), Slow(size_px=64, seed=1), sys.argv[2], fps=Fraction(30), segment_s=2.0,
                        batch_size=2, progress_stream=open(os.devnull, "w"))

    sys.exit(run_cli(main))
    """
)


@pytest.mark.parametrize("ignore_sigint", [False, True], ids=["ctrl-c", "only-ffmpeg-hears-it"])
def test_ctrl_c_during_render_says_interrupted_and_leaves_no_temporary(tmp_path, ignore_sigint):
    """Ctrl-C ends the render with one line. When Python ignores SIGINT (a background job
    does) ffmpeg still dies of it, and the writer meets a broken pipe: still an interrupt."""
    import signal

    def prepare():
        if ignore_sigint:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    from system_helpers import catches, children_of, command_line, is_ffmpeg, wait_for

    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED_CHILD.format(scripts=str(SCRIPTS)))
    save_npz(tmp_path / "latents.npz", walk(120))
    folder = tmp_path / "segments"
    child = subprocess.Popen([sys.executable, str(script), str(tmp_path / "latents.npz"), str(folder)], stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=prepare)
    try:
        # A segment's ffmpeg (not the option probe) past its start-up, when it catches SIGINT itself.
        def encoding(pid):
            return is_ffmpeg(pid) and "rawvideo" in command_line(pid) and catches(pid, signal.SIGINT)

        wait_for(lambda: list(filter(encoding, children_of(child.pid))), 60, "a segment being encoded")
        os.killpg(child.pid, signal.SIGINT)  # Ctrl-C reaches Python and ffmpeg alike
        _, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert err.strip() == "dreamreel: interrupted"
    assert child.returncode == 130
    assert not list(folder.glob(".*"))
