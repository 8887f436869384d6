"""Make build/<piece>/gan/segments.json: render the latent walk into cached, lossless video segments.

Input:   build/gan/latents.npz (from scripts/latents.py).
Output:  content-addressed segments in --segments-dir (build/gan/segments/<sha256>.mkv,
         FFV1, exact frame rate) and a manifest (segments.json) listing them in order with
         the model actually used. Segments already present are not rendered again, so a
         killed render resumes, and a walk that changed only at the end re-renders only
         the end. --draft renders the same walk small and at a fraction of the frame rate.
         Segments no manifest lists are deleted, least recently used first, once the
         folder passes gan.cache_limit_mb. With gan.executor: ray the missing segments are
         rendered as tasks on a Ray cluster (RAY_ADDRESS, else an embedded one), into the
         same cache under the same names (see dreamreel.gan.cluster). --shard K/N renders
         only share K of N of the segments, here, and writes no manifest: one task of the
         job array that scripts/slurm_plan.py writes; a later plain render finds them all.
Params:  stylegan.noise_mode (with --stylegan), gan.model, gan.weights, gan.blend.*, gan.allow_download, gan.download_timeout_s, gan.size_px,
         gan.cppn_seed, gan.device, gan.precision, gan.channels_last, gan.batch_size,
         gan.threads, gan.segment_s, gan.draft_size_px, gan.draft_fps_divisor; gan.cache_limit_mb,
         gan.executor and gan.ray_workers from --cache.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import add_params_name_option, load_section


def _shard(text: str) -> tuple[int, int]:
    """``K/N`` with 1 <= K <= N, as (K, N)."""
    k, slash, n = text.partition("/")
    if not (slash and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N, such as 2/8, got {text!r}")
    return int(k), int(n)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("latents", help="build/gan/latents.npz")
    parser.add_argument("manifest", help="manifest to write, e.g. build/gan/segments.json")
    parser.add_argument("--params", required=True, help="build/params/gan.json")
    parser.add_argument("--segments-dir", required=True, help="folder of cached segments, e.g. build/gan/segments")
    parser.add_argument("--cache", help="build/<piece>/params/cache.json (gan.cache_limit_mb, gan.executor, gan.ray_workers); without it, those in --params")
    parser.add_argument("--stylegan", help="build/params/stylegan.json (its noise_mode), for gan.model: stylegan")
    parser.add_argument("--draft", action="store_true", help="render at gan.draft_size_px and fps / gan.draft_fps_divisor")
    parser.add_argument("--shard", type=_shard, metavar="K/N", help="render only share K of N (1 to N) of the segments, here, and write no manifest")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    from fractions import Fraction

    from dreamreel.core.npz import open_npz
    from dreamreel.gan import render
    from dreamreel.gan.models.base import ComputeOptions
    from dreamreel.gan.models.registry import ModelRequest, load_model
    from dreamreel.gan.sections import GAN

    params, where = load_section(args.params, "gan", params_name=args.params_name, schema=GAN)
    if args.cache:
        # How and where the segments are rendered, never a frame: the params split keeps these
        # keys out of gan.json so that editing them reruns nothing.
        run = load_section(args.cache, "gan", params_name=args.params_name, schema=GAN)[0]
        params.update({key: run[key] for key in ("cache_limit_mb", "executor", "ray_workers")})
    latents = open_npz(args.latents, what="latents")
    for key in ("fps_num", "fps_den"):
        if key not in latents:
            raise DreamreelError(args.latents, f"has no {key}", "rebuild it with scripts/latents.py")
    walk_fps = Fraction(int(latents["fps_num"]), int(latents["fps_den"]))
    stride = int(params["draft_fps_divisor"]) if args.draft else 1
    size_px = int(params["draft_size_px"]) if args.draft else params["size_px"]
    compute = ComputeOptions(device=params["device"], precision=params["precision"], channels_last=params["channels_last"], threads=params["threads"])
    request = ModelRequest(
        name=params["model"],
        weights=params["weights"],
        size_px=size_px,
        seed=int(params["cppn_seed"]),
        allow_download=bool(params["allow_download"]),
        download_timeout_s=float(params["download_timeout_s"]),
        compute=compute,
        options=load_section(args.stylegan, "stylegan", params_name=args.params_name)[0] if args.stylegan else {},
        blend=params["blend"],
    )
    fps = walk_fps / stride
    on_ray = params["executor"] == "ray" and args.shard is None
    if on_ray:
        from dreamreel.gan import cluster

        segments, metadata, out_size = cluster.render_on_ray(
            latents, request, args.segments_dir, fps=fps, out_size_px=size_px, frame_stride=stride, segment_s=float(params["segment_s"]),
            batch_size=params["batch_size"], workers=params["ray_workers"], label="draft" if args.draft else "render", where=where, latents_where=args.latents,
        )
    else:
        choice = load_model(request, where=where)
        model = choice.model
        batch = params["batch_size"] or render.auto_batch_size(getattr(model, "device", "cpu"), model.size_px)
        segments = render.render_segments(
            latents,
            model,
            args.segments_dir,
            fps=fps,
            out_size_px=size_px,
            frame_stride=stride,
            segment_s=float(params["segment_s"]),
            batch_size=int(batch),
            label="draft" if args.draft else "render",
            where=args.latents,
            shard=args.shard,
        )
        if args.shard is not None:
            return 0  # the render that finds every share's segments writes the manifest
        metadata, out_size = choice.metadata(), int(size_px or model.size_px)
    render.write_manifest(args.manifest, segments, fps=fps, size_px=out_size, choice_metadata=metadata, n_frames=sum(s.frames for s in segments))
    # Every manifest beside this one (the full render and the draft) keeps its segments.
    manifests = sorted(Path(args.manifest).resolve().parent.glob("*.json"))
    deleted, freed = render.prune_segments(args.segments_dir, manifests, limit_mb=params["cache_limit_mb"])
    if deleted:
        print(f"render: deleted {deleted} old cached segments ({freed / 2**20:.0f} MB) to stay under gan.cache_limit_mb = {params['cache_limit_mb']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
