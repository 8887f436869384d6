"""Make out/<piece>-preview.png and out/<piece>-features.png: a contact sheet and feature plots.

Inputs:  a composed video (build/video/picture.mkv or out/<piece>.mp4),
         build/gan/features.npz (onset, rms, chroma, fps_num, fps_den; optional bands,
         beat_times_s, bar_times_s), build/gan/latents.npz (latent arrays, frame axis first).
Outputs: --sheet PNG: frames at the strongest onsets and section changes, with times (and
         with --effects, each effect on the timeline and the effects on in each frame);
         --plots PNG: bands/chroma, loudness and onsets, latent motion, bar lines, and with
         --effects build/video/effects.npz each effect's value over time.
Params:  none from params.yaml (--count frames, --title text are plain options).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

from dreamreel.core.errors import DreamreelError, run_cli

THUMB_W, THUMB_H = 480, 270


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path, help="the composed picture or the final .mp4")
    parser.add_argument("features", type=Path, help="build/gan/features.npz")
    parser.add_argument("latents", type=Path, help="build/gan/latents.npz")
    parser.add_argument("--sheet", required=True, type=Path, help="out/<piece>-preview.png")
    parser.add_argument("--plots", required=True, type=Path, help="out/<piece>-features.png")
    parser.add_argument("--count", type=int, default=12, help="frames on the contact sheet (default 12)")
    parser.add_argument("--margin-s", type=float, default=2.0, help="pick no frame this close to either end, where the picture fades (default 2)")
    parser.add_argument("--title", default="", help="heading of both images (default: the video's file name)")
    parser.add_argument("--score", type=Path, help="build/score/score.json: draw its barlines on the plots")
    parser.add_argument("--effects", type=Path, help="build/video/effects.npz: plot each effect's value over time")
    parser.add_argument("--ffmpeg", help="ffmpeg binary (default: $FFMPEG, else ffmpeg on PATH)")
    args = parser.parse_args(argv)

    import numpy as np
    from dreamreel.core.ffmpeg_tools import find_ffmpeg, probe_video
    from dreamreel.preview.figures import contact_sheet, feature_plots
    from dreamreel.preview.moments import grab_frame, latent_motion, load_features, significant_moments

    for path in (args.sheet, args.plots):
        if path.suffix != ".png":
            raise DreamreelError(str(path), "must end in .png", "name it out/<piece>-preview.png or -features.png")
    if not 1 <= args.count <= 48:
        raise DreamreelError("--count", f"{args.count} frames", "use 1 to 48")
    features = load_features(args.features)
    if args.score is not None:
        from dreamreel.score.model import load_score_json
        from dreamreel.score.musical_time import MusicalClock

        features = dataclasses.replace(features, bar_times_s=MusicalClock.from_score(load_score_json(args.score)).bar_seconds())
    if not args.latents.is_file():
        raise DreamreelError(str(args.latents), "file not found", "build it first (make gan)")
    with np.load(args.latents) as data:
        motion = latent_motion({key: data[key] for key in data.files})
    effects = None
    if args.effects is not None:
        if not args.effects.is_file():
            raise DreamreelError(str(args.effects), "file not found", "build it first (make video)")
        with np.load(args.effects) as data:
            if "values" not in data.files or "labels" not in data.files:
                raise DreamreelError(str(args.effects), "has no values and labels arrays", "rebuild it (make video)")
            effects = {str(label): np.asarray(row, np.float64) for label, row in zip(data["labels"], data["values"])}
    tool = find_ffmpeg(args.ffmpeg)
    info = probe_video(tool, args.video)
    if info.fps != features.fps:
        raise DreamreelError(str(args.features), f"frame rate {features.fps} differs from the video's {info.fps}", "rebuild the video from these features (make video)")
    title = args.title or args.video.stem
    moments = [m for m in significant_moments(features, count=args.count, margin_s=args.margin_s) if m.frame < info.frames]
    with tempfile.TemporaryDirectory(prefix="dreamreel-preview-") as scratch:
        thumbnails = [grab_frame(tool, args.video, frame=m.frame, fps=info.fps, width_px=THUMB_W, height_px=THUMB_H, scratch=Path(scratch)) for m in moments]
    contact_sheet(moments, thumbnails, features, args.sheet, title=f"{title} — {len(moments)} moments", effects=effects)
    feature_plots(features, motion, args.plots, title=f"{title} — features and latent motion", effects=effects)
    print(f"preview: {args.sheet} ({len(moments)} frames), {args.plots}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
