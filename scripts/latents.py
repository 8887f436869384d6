"""Make build/gan/latents.npz: the latent walk (noise and class vectors) for every video frame.

Input:   build/gan/features.npz (from scripts/analyze.py).
Output:  latents.npz with noise (N, 128), classes (N, 1000), truncation (N,), float32,
         frame k at k/fps s, plus fps_num/fps_den and the ImageNet class_indices used.
         The same inputs and params give a byte-identical file.
Params:  latents.seed, latents.truncation, latents.motion_*, latents.pulse_*, latents.class_*.
"""

from __future__ import annotations

import argparse
import sys

from dreamreel.errors import DreamreelError, run_cli  # noqa: F401  (DreamreelError is what main raises)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features", help="build/gan/features.npz")
    parser.add_argument("output", help="latents file to write, e.g. build/gan/latents.npz")
    parser.add_argument("--params", required=True, help="build/params/latents.json")
    args = parser.parse_args(argv)

    from dreamreel import latents
    from dreamreel.npz import open_npz, save_npz
    from dreamreel.params import read_section, validate_section

    params = validate_section(args.params, latents.LATENTS, read_section(args.params))
    features = open_npz(args.features, what="features")
    walk = latents.make_walk(features, params=params, where=f"{args.params}: latents")
    save_npz(args.output, walk)
    print(f"latents: {walk['noise'].shape[0]} frames, classes {walk['class_indices'].tolist()} -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
