"""Make build/<piece>/video/effects.mkv: the GAN frames with image effects keyed to the music.

Inputs:  build/gan/frames.mkv (square, lossless, exact fps); build/gan/features.npz (the
         per-frame signals); for the beat and bar signals, build/score/score.json (--score)
         or, for a song, build/mix/master.wav (--song, beat-tracked).
Outputs: build/video/effects.mkv: the same frames with the effects, FFV1 (lossless), the
         input's tags copied. Compose reads it instead of frames.mkv when effects.chain is
         not empty; with an empty chain Make never runs this stage.
         --table build/video/effects.npz: each effect's value at every frame (``values``
         (E, N) in the effect's unit, ``labels`` (E,) text, ``fps_num``, ``fps_den``), for
         the preview's plots.
Params (effects section): chain (a list of {effect, by, amount, attack_s, release_s,
         curve, angle_deg}), beats_per_bar.
The ffmpeg binary is FFMPEG (environment) or --ffmpeg, else ffmpeg on PATH.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import add_params_name_option, load_section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frames", type=Path, help="square GAN video (build/gan/frames.mkv)")
    parser.add_argument("features", type=Path, help="build/gan/features.npz")
    parser.add_argument("output", type=Path, help="build/video/effects.mkv")
    parser.add_argument("--params", required=True, type=Path, help="build/params/effects.json")
    parser.add_argument("--table", type=Path, help="also write each effect's value per frame here (build/video/effects.npz)")
    clock = parser.add_mutually_exclusive_group()
    clock.add_argument("--score", type=Path, help="build/score/score.json: beats and bars of the score")
    clock.add_argument("--song", type=Path, help="build/mix/master.wav of a song: beats by beat tracking")
    parser.add_argument("--ffmpeg", help="ffmpeg binary (default: $FFMPEG, else ffmpeg on PATH)")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    from fractions import Fraction

    from dreamreel.core.ffmpeg_tools import find_ffmpeg, probe_video
    from dreamreel.core.npz import open_npz
    from dreamreel.video.effects_pass import run_effects
    from dreamreel.video.keying import key_effects, needs_clock
    from dreamreel.video.sections import EFFECTS, effect_entries

    if args.output.suffix != ".mkv":
        raise DreamreelError(str(args.output), "the effects video must be a .mkv file", "name it build/video/effects.mkv")
    params, where = load_section(args.params, "effects", params_name=args.params_name, schema=EFFECTS)
    entries = effect_entries(params["chain"])
    tool = find_ffmpeg(args.ffmpeg)
    info = probe_video(tool, args.frames)
    features = open_npz(args.features, what="features")
    fps = Fraction(int(features["fps_num"]), int(features["fps_den"]))
    if fps != info.fps:
        raise DreamreelError(str(args.features), f"frame rate {fps} differs from the video's {info.fps}", "rebuild the video from these features (make video)")

    beats = bars = None
    if needs_clock(entries):
        from dreamreel.score.musical_time import MusicalClock, track_beats_streamed

        if args.score is not None:
            from dreamreel.score.model import load_score_json

            musical = MusicalClock.from_score(load_score_json(args.score), where=str(args.score))
            beats, bars = musical.beat_seconds(), musical.bar_seconds()
        elif args.song is not None:
            from dreamreel.core.audio_io import summed_mono_blocks

            # The song is read block by block (twice): only its onset envelope is held whole.
            samples, rate, read_blocks = summed_mono_blocks([args.song])
            tracked = track_beats_streamed(read_blocks, rate, samples)
            musical = MusicalClock.from_beat_times(tracked, beats_per_bar=params["beats_per_bar"], duration_s=samples / rate, where=str(args.song))
            # The clock counts the lead-in before the first tracked beat as a pickup bar
            # starting at 0 s; that start is no beat and no barline a listener hears.
            beats = tracked
            bars = musical.bar_seconds()
            bars = bars[bars >= tracked[0] - 1e-9]
        else:
            raise DreamreelError(f"{where}.chain", "a beat or bar signal needs the piece's beats", "pass --score build/score/score.json or --song build/mix/master.wav")

    table = key_effects(entries, features=features, fps=fps, n_frames=info.frames, beat_times_s=beats, bar_times_s=bars,
                        where=f"{where}.chain")
    run_effects(args.frames, args.output, entries, table, tool=tool, info=info)
    if args.table is not None:
        import numpy as np
        from dreamreel.core.npz import save_npz
        from dreamreel.video.keying import entry_label

        save_npz(args.table, {"values": table.astype(np.float32), "labels": np.array([f"{index + 1}: {entry_label(entry)}" for index, entry in enumerate(entries)], dtype="U80"),
                              "fps_num": np.int64(fps.numerator), "fps_den": np.int64(fps.denominator)})
    names = ", ".join(f"{entry['effect']} by {entry['by']}" for entry in entries) or "none"
    print(f"effects: {args.frames} ({info.width}x{info.height}, {info.frames} frames) -> {args.output} ({names})")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
