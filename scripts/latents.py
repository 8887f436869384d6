"""Make build/gan/latents.npz: the latent walk (noise and class vectors) for every video frame.

Input:   build/gan/features.npz (from scripts/analyze.py).
Output:  latents.npz with noise (N, 128), classes (N, 1000), truncation (N,), float32,
         frame k at k/fps s, plus fps_num/fps_den and the ImageNet class_indices used.
         The same inputs and params give a byte-identical file.
         For gan.model: stylegan, ws (N, num_ws, w_dim) from the stylegan mapping instead,
         and for a StyleGAN3 model one input transform (N, 3, 3) per frame (stylegan.input_*).
         With video.loop (model.json's loop) the walk returns to its first frame at the end.
         With --conduct and --notes (build/gan/notes.npz), the parts named in conduct.json
         drive their targets from their notes, and sections change the scene; --score
         (the score JSON) gives part labels and the tempo map for crossfade_beats.
Params:  model.json (gan.model, gan.weights, video.loop), stylegan.* for StyleGAN; latents.seed, latents.truncation, latents.motion_*, latents.pulse_*,
         latents.class_*, latents.dynamics*; conduct.json (conduct).
"""

from __future__ import annotations

import argparse
import sys

from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import add_params_name_option, load_section, section_where


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features", help="build/gan/features.npz")
    parser.add_argument("output", help="latents file to write, e.g. build/gan/latents.npz")
    parser.add_argument("--params", required=True, help="build/params/latents.json")
    parser.add_argument("--model", help="build/params/model.json: which model the walk is for (default: BigGAN/cppn)")
    parser.add_argument("--stylegan", help="build/params/stylegan.json: the audio mapping for gan.model: stylegan")
    parser.add_argument("--conduct", help="build/params/conduct.json: which parts drive which targets")
    parser.add_argument("--notes", help="build/gan/notes.npz: the parts' note signals and the sections")
    parser.add_argument("--score", help="build/score/score.json: part labels and the tempo map (crossfade_beats)")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    from dreamreel.core.npz import open_npz, save_npz
    from dreamreel.core.params import read_section
    from dreamreel.gan import latents
    from dreamreel.gan.sections import LATENTS

    features = open_npz(args.features, what="features")
    model = read_section(args.model) if args.model else {"model": "auto", "weights": None}
    conducting = None
    if args.conduct:
        from dreamreel.gan.conduct import resolve
        from dreamreel.gan.sections import validate_conduct

        conduct_where = section_where(args.params_name, "conduct")
        conduct = validate_conduct(read_section(args.conduct), conduct_where)
        if conduct:
            notes = open_npz(args.notes, what="notes") if args.notes else None
            score = None
            if args.score:
                from dreamreel.score.model import load_score_json

                score = load_score_json(args.score)
            conducting = resolve(conduct, notes=notes, features=features, model=model["model"], score=score, where=conduct_where,
                                 notes_where=args.notes or "notes.npz")
    if model["model"] == "stylegan":
        from dreamreel.gan.models.stylegan import stylegan_walk
        from dreamreel.gan.sections import STYLEGAN

        if not args.stylegan:
            raise DreamreelError("--stylegan", "a StyleGAN walk needs the stylegan params", "pass --stylegan build/params/stylegan.json")
        if not model["weights"]:
            raise DreamreelError(f"{args.params_name}: gan.weights", "StyleGAN needs a model file", "set gan.weights to your .pkl (NVlabs) or .pt (rosinality) file")
        params, where = load_section(args.stylegan, "stylegan", params_name=args.params_name, schema=STYLEGAN)
        walk = stylegan_walk(features, weights=model["weights"], params=params, where=args.features, params_where=where, conducting=conducting)
        if model.get("loop"):
            walk = latents.close_loop(walk)
        save_npz(args.output, walk)
        print(f"latents: {walk['ws'].shape[0]} frames of StyleGAN ws {walk['ws'].shape[1:]} -> {args.output}", file=sys.stderr)
        return 0
    params, where = load_section(args.params, "latents", params_name=args.params_name, schema=LATENTS)
    # noise and classes are computed block by block as the file is written; a loop bends
    # them block by block too, after a first pass that finds where the walk ends.
    walk = latents.walk_members(features, params=params, where=where, conducting=conducting)
    if model.get("loop"):
        walk = latents.close_loop(walk)
    save_npz(args.output, walk)
    print(f"latents: {walk['noise'].shape[0]} frames, classes {walk['class_indices'].tolist()} -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
