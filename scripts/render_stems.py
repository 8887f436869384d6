"""Render build/stems/<part>.wav: one 48 kHz stereo stem per part, all the same length.

Inputs:  SCORE_JSON (build/score/score.json), a General MIDI soundfont (from params)
Outputs: OUT_DIR/<part>.wav for every part, or for each --part only (float32 WAV), aligned
         sample for sample: a part rendered alone is the same file, byte for byte, so
         one stem can be its own Make target
Params:  stems.soundfont, stems.synth_gain, stems.tail_s
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dreamreel.audio.soundfont import SOUNDFONT_FIX, check_soundfont
from dreamreel.audio.stems import render_part, stem_length_samples
from dreamreel.core.audio_io import MASTER_RATE_HZ, write_audio
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import add_params_name_option, load_section
from dreamreel.score.model import load_score_json


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("score_json", type=Path)
    parser.add_argument("--params", type=Path, required=True, help="build/params/stems.json")
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--part", action="append", help="render only this part (by its name in score.json); may be repeated")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    settings, where = load_section(args.params, "stems", params_name=args.params_name)
    if settings["soundfont"] == "auto":
        raise DreamreelError(f"{where}.soundfont", "no General MIDI soundfont is installed", SOUNDFONT_FIX)
    # Checked before the first part renders, so a bad soundfont leaves no stem behind.
    check_soundfont(settings["soundfont"], section=where)
    score = load_score_json(args.score_json)
    names = score.part_names()
    for name in args.part or ():
        if name not in names:
            raise DreamreelError(str(args.score_json), f"the score has no part '{name}'", f"name one of its parts: {', '.join(names)}")
    length = stem_length_samples(score, sample_rate_hz=MASTER_RATE_HZ, tail_s=settings["tail_s"])
    for part in score.parts:
        if args.part and part.name not in args.part:
            continue
        started = time.perf_counter()
        audio = render_part(
            score, part, soundfont=settings["soundfont"], sample_rate_hz=MASTER_RATE_HZ,
            synth_gain=settings["synth_gain"], length_samples=length, where=where,
        )
        write_audio(args.out_dir / f"{part.name}.wav", audio, MASTER_RATE_HZ)
        print(f"stem {part.name}: {length / MASTER_RATE_HZ:.2f} s in {time.perf_counter() - started:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
