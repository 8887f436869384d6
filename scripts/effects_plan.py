"""Make build/<piece>/params/effects.mk: whether the effects pass runs, for the Makefile.

Inputs:  build/params/effects.json (the effects section).
Outputs: a makefile fragment with EFFECTS (yes when effects.chain lists effects; compose
         then reads build/video/effects.mkv instead of build/gan/frames.mkv) and
         EFFECTS_CLOCK (yes when an effect follows beats or bars, which then come from
         the score, or from the song's master mix).
Why a file of its own: it is written after every params split (the Makefile makes it
depend on params.mk), so Make always re-reads its makefiles after a split and never plans
the rest of a build on the previous split's variables.
Params:  effects.chain.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dreamreel.core.errors import run_cli
from dreamreel.core.params import add_params_name_option, load_section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("params", type=Path, help="build/params/effects.json")
    parser.add_argument("makefile", type=Path, help="build/<piece>/params/effects.mk")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    from dreamreel.core.atomic import write_bytes_atomic
    from dreamreel.video.sections import EFFECTS, MUSICAL_SIGNALS, effect_entries

    params, _ = load_section(args.params, "effects", params_name=args.params_name, schema=EFFECTS)
    entries = effect_entries(params["chain"])
    lines = [
        f"# Written by scripts/effects_plan.py from {args.params}; do not edit.",
        f"EFFECTS := {'yes' if entries else ''}",
        f"EFFECTS_CLOCK := {'yes' if any(entry['by'] in MUSICAL_SIGNALS for entry in entries) else ''}",
    ]
    # Always written, even when unchanged: its new date is what makes Make re-read the
    # makefiles after the split that triggered it.
    write_bytes_atomic(args.makefile, ("\n".join(lines) + "\n").encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
