"""Parse a score into build/score/score.json: parts, notes, tempo map, bars, in ticks.

Inputs:  SCORE (.mid/.midi, .musicxml/.xml/.mxl, .mscz/.mscx through the MuseScore CLI)
Outputs: OUT (score.json), read by every later audio stage
Params:  none
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dreamreel.core.atomic import write_bytes_atomic
from dreamreel.core.errors import run_cli
from dreamreel.score.musical_time import TempoMap
from dreamreel.score.read import read_score


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("score", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--musescore", help="MuseScore executable (default: the first of mscore3, mscore, musescore on PATH)")
    args = parser.parse_args(argv)

    score = read_score(args.score, musescore=args.musescore)
    write_bytes_atomic(args.out, score.to_json())
    seconds = TempoMap.from_score(score).tick_to_seconds(score.end_tick)
    bars = len(score.bar_ticks) - 1
    print(f"{args.score}: {len(score.parts)} parts ({', '.join(score.part_names())}), {bars} bars, {seconds:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
