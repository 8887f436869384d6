"""Prints what the safe loader finds in a StyleGAN model file (writes no file).

Input: a StyleGAN generator file — an NVlabs .pkl (stylegan2-ada-pytorch, the stylegan3
repository: StyleGAN3 t or r, or cfg stylegan2; TensorFlow StyleGAN2/ADA) or a rosinality .pt.
Output: family, container, resolution, z/w sizes, num_ws, conditioning and settings on
stdout. Nothing in the file is executed. With --blend-with, the blend gan.blend would make
(checked, and rendered with --build). Params keys: none.
"""

from __future__ import annotations

import argparse
import sys

from dreamreel.core.errors import run_cli


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the .pkl or .pt file")
    parser.add_argument("--build", action="store_true", help="also build the generator and render one 4-frame check batch")
    parser.add_argument("--blend-with", metavar="FILE", help="a second model to blend with (gan.blend.with)")
    parser.add_argument("--swap-at-px", type=int, help="layer swap: blocks up to this resolution from MODEL, above from --blend-with")
    parser.add_argument("--mix-by-px", metavar="PX:T,...", help="interpolation instead, e.g. 4:0,64:0.5,1024:1 (t = weight of --blend-with)")
    args = parser.parse_args(argv)

    from dreamreel.core.errors import DreamreelError
    from dreamreel.gan.stylegan.blend import BlendSpec
    from dreamreel.gan.stylegan.loader import build_generator, inspect_blend, inspect_model

    if args.blend_with:
        try:
            mix = [[float(v) for v in point.split(":")] for point in args.mix_by_px.split(",")] if args.mix_by_px else None
        except ValueError:
            raise DreamreelError("--mix-by-px", f"cannot read {args.mix_by_px!r}", "write px:t pairs, e.g. 4:0,64:0.5,1024:1") from None
        spec = BlendSpec.from_params({"with": args.blend_with, "swap_at_px": args.swap_at_px, "mix_by_px": mix}, where="--blend")
        info, converted = inspect_blend(args.model, spec)
    else:
        info, converted = inspect_model(args.model)
    for line in info.describe():
        print(line)
    if args.build:
        import torch

        generator = build_generator(info.config, converted.arrays, args.model)
        with torch.no_grad():
            z = torch.randn([4, info.config.z_dim], generator=torch.Generator().manual_seed(0))
            c = torch.eye(info.config.c_dim)[torch.arange(4) % info.config.c_dim] if info.config.c_dim else None
            images = generator(z, c, truncation_psi=0.7)
        print(f"check         rendered {tuple(images.shape)}, pixel range [{images.min():.2f}, {images.max():.2f}]")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
