"""Make build/<piece>/gan/slurm.sh: a Slurm job array that renders the segments, without Ray.

Input:   build/<piece>/gan/latents.npz (its frame count and rate) and gan.json (gan.segment_s,
         gan.device, gan.threads), which decide how many segments there are.
Output:  an sbatch script. Array task K of N runs the render command given with --render,
         adding --shard K/N: it renders share K of the segments (a run of consecutive ones)
         into the segment cache, and writes no manifest. Run it with `sbatch --wait` (or
         wait for the array), then `make gan`: the render finds every segment cached,
         writes the manifest, and Make joins them. The cache (gan.cache_dir) and the build
         folder must be on a filesystem every node sees, at the same path.
Options: --tasks N (array tasks; default one per segment, at most --max-tasks), --job-name.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
from fractions import Fraction
from pathlib import Path

from dreamreel.core.atomic import replace_if_changed
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import add_params_name_option, load_section


def job_script(*, render_command: str, tasks: int, workdir: str, job_name: str, log_dir: str, threads: int | None, gpu: bool, segments: int) -> str:
    """The sbatch script: an array of ``tasks``, each running ``render_command --shard K/N``."""
    lines = [
        "#!/bin/bash",
        f"# Written by scripts/slurm_plan.py: {segments} segments in {tasks} array tasks. Submit with",
        "#   sbatch --wait <this file> && make gan",
        "# Add your site's options (partition, account, time limit) on the sbatch command line.",
        f"#SBATCH --job-name={job_name}",
        f"#SBATCH --array=1-{tasks}",
        f"#SBATCH --output={log_dir}/slurm-%A_%a.log",
    ]
    if threads:
        lines.append(f"#SBATCH --cpus-per-task={threads}")
    if gpu:
        lines.append("#SBATCH --gres=gpu:1")
    lines += [
        "set -euo pipefail",
        f"cd {shlex.quote(workdir)}",
        f'exec {render_command} --shard "$SLURM_ARRAY_TASK_ID/{tasks}"',
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("latents", help="build/<piece>/gan/latents.npz")
    parser.add_argument("output", help="the sbatch script to write, e.g. build/<piece>/gan/slurm.sh")
    parser.add_argument("--params", required=True, help="build/<piece>/params/gan.json")
    parser.add_argument("--render", required=True, help="the render command each array task runs (render_frames.py and its options)")
    parser.add_argument("--tasks", type=int, help="array tasks; default one per segment, at most --max-tasks")
    parser.add_argument("--job-name", default="dreamreel", help="the Slurm job's name, e.g. dreamreel-<piece>")
    parser.add_argument("--max-tasks", type=int, default=1000, help="the most array tasks by default (Slurm's MaxArraySize is often 1001)")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    from dreamreel.core.npz import open_npz
    from dreamreel.gan.sections import GAN

    params, where = load_section(args.params, "gan", params_name=args.params_name, schema=GAN)
    latents = open_npz(args.latents, what="latents")
    if "fps_num" not in latents or "fps_den" not in latents:
        raise DreamreelError(args.latents, "has no frame rate (fps_num, fps_den)", "rebuild it with scripts/latents.py")
    fps = Fraction(int(latents["fps_num"]), int(latents["fps_den"]))
    frames = next((int(latents[key].shape[0]) for key in ("noise", "ws") if key in latents), None)
    if frames is None:
        raise DreamreelError(args.latents, "holds no walk (noise or ws)", "rebuild it with scripts/latents.py")
    # The same cut as the renderer's (dreamreel.gan.render.plan_render).
    segments = math.ceil(frames / max(1, round(float(params["segment_s"]) * float(fps))))
    if args.tasks is not None and args.tasks < 1:
        raise DreamreelError("--tasks", f"{args.tasks} array tasks", "give 1 or more")
    tasks = min(args.tasks or min(segments, args.max_tasks), max(segments, 1))
    output = Path(args.output)
    script = job_script(
        render_command=args.render,
        tasks=tasks,
        workdir=os.getcwd(),
        job_name=args.job_name,
        log_dir=str(output.parent.resolve()),
        threads=params["threads"],
        gpu=params["device"] == "cuda",
        segments=segments,
    )
    replace_if_changed(output, script.encode("utf-8"))
    output.chmod(0o755)
    print(f"slurm: {output}: {segments} segments in {tasks} array tasks; submit with: sbatch --wait {output} && make gan", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
