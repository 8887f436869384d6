"""Write out/<piece>-conduct.png: each conducted part's note signal beside the latent or layer motion it drives.

Inputs:  LATENTS (build/gan/latents.npz: the walk, its conduct_* drives, noise_owner or
         layer_group, scene_weights, dynamics_gain), NOTES (build/gan/notes.npz: bars and
         section starts)
Outputs: OUT (PNG)
Params:  none of its own (conduct and latents shaped the walk it reads)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dreamreel.core.errors import run_cli


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("latents", type=Path, help="build/gan/latents.npz")
    parser.add_argument("notes", type=Path, help="build/gan/notes.npz")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--title", default="")
    args = parser.parse_args(argv)

    from dreamreel.core.npz import open_npz
    from dreamreel.preview.conduct_plot import draw_conduct_picture

    latents = open_npz(args.latents, what="latents")
    notes = open_npz(args.notes, what="notes")
    draw_conduct_picture(args.out, latents, notes, title=args.title or "conduct: note signals and the motion they drive")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
