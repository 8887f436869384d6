"""Write out/<piece>-notes.png: each part's note signals over time, with barlines and the sections.

Inputs:  NOTES (build/gan/notes.npz), --features build/gan/features.npz (its rms: the mix's
         level, drawn above the parts)
Outputs: OUT (PNG)
Params:  none (notes.* shaped the signals drawn)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dreamreel.core.errors import run_cli


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notes", type=Path, help="build/gan/notes.npz")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--features", type=Path, default=None, help="build/gan/features.npz")
    parser.add_argument("--title", default="")
    args = parser.parse_args(argv)

    from dreamreel.core.npz import open_npz
    from dreamreel.preview.notes_plot import draw_notes_picture

    notes = open_npz(args.notes, what="notes")
    features = open_npz(args.features, what="features") if args.features else None
    draw_notes_picture(args.out, notes, features=features, title=args.title or "notes and sections")
    print(f"preview: {len(notes['parts'])} parts, {len(notes['section_start_s'])} sections -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
