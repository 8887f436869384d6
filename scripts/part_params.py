"""Write build/params/part/<part>.json for every part of the score, and build/score/parts.mk.

Inputs:  SCORE_JSON (build/score/score.json), PARTS_JSON (build/params/parts.json: the parts
         named in params.yaml), DEFAULTS_JSON (build/params/part_defaults.json)
Outputs: OUT_DIR/<part>.json for each part of the score (its own settings, else the
         defaults), rewritten only when changed; MAKEFILE defining PARTS, and for a part
         panned with measured HRIRs (mode sofa) its SOFA file as a prerequisite of that
         part's processing, so a new SOFA file reprocesses the part.
Params:  parts.<part>.*, part_defaults.*
Checks:  part names against the score, and each part's 8D pan automation against the
         score's bars, so a mistake stops make before any audio is rendered. A part may be
         named by its file name (parts.flute-a-bec, parts.гитара) or by its label as the
         score prints it (parts.Flûte à bec, parts.Гитара).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dreamreel.audio.automation import parse_automation
from dreamreel.core.atomic import replace_if_changed, write_bytes_atomic
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.makefile import required_file_rule
from dreamreel.core.params import _suggest, canonical_json, read_section
from dreamreel.score.model import load_score_json
from dreamreel.score.musical_time import MusicalClock


def _sofa_from_params_folder(settings: dict, params_path: Path) -> dict:
    """A part's settings with its SOFA file's path made relative to where make runs.

    In the params file it is relative to the file's own folder, like every other path there.
    """
    pan = settings.get("pan")
    if not isinstance(pan, dict) or not isinstance(pan.get("sofa"), str):
        return settings
    sofa = Path(pan["sofa"]).expanduser()
    if not sofa.is_absolute():
        sofa = Path(os.path.relpath(params_path.parent / sofa))
    return {**settings, "pan": {**pan, "sofa": str(sofa)}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("score_json", type=Path)
    parser.add_argument("parts_json", type=Path)
    parser.add_argument("defaults_json", type=Path)
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--makefile", type=Path, required=True)
    parser.add_argument("--params-name", default="params.yaml", help="the params file, for messages")
    args = parser.parse_args(argv)

    score = load_score_json(args.score_json)
    defaults = read_section(args.defaults_json)
    names = score.part_names()
    named: dict[str, dict] = {}
    keys: dict[str, str] = {}  # part name -> the key params.yaml gave it, for messages
    for key, values in read_section(args.parts_json).items():
        name = score.find_part_name(key)
        if name is None:
            raise DreamreelError(
                f"{args.params_name}: parts.{key}", f"the score {score.source} has no part '{key}'",
                f"{_suggest(key, names)} (the score's parts: {', '.join(names)})",
            )
        if name in named:
            raise DreamreelError(
                f"{args.params_name}: parts.{key}", f"names the same part as parts.{keys[name]} (the part '{name}')",
                "keep one of the two",
            )
        named[name], keys[name] = values, key
    clock = MusicalClock.from_score(score, where=args.params_name)
    lines = [f"# Written by scripts/part_params.py from {score.source}; do not edit.", f"PARTS := {' '.join(names)}"]
    sofa_rules: list[str] = []  # two parts may share one SOFA file: one rule for it
    named = {name: _sofa_from_params_folder(settings, Path(args.params_name)) for name, settings in named.items()}
    defaults = _sofa_from_params_folder(defaults, Path(args.params_name))
    for name in names:
        pan = named.get(name, defaults).get("pan")
        if pan is None:
            continue
        where = f"{args.params_name}: parts.{keys.get(name, name)}.pan"
        automation = parse_automation(pan, clock, where=where)
        if automation.sofa is not None:
            missing = DreamreelError(f"{where}.sofa", f"SOFA file {automation.sofa!r} does not exist", f"give the path of a .sofa file of measured HRIRs, relative to the folder of {Path(args.params_name).name}")
            sofa_rules.append(required_file_rule(automation.sofa, missing))
            lines.append(f"$(PIECE_DIR)/fx/{name}.dry.wav $(PIECE_DIR)/fx/{name}.wet.wav: {automation.sofa}")
    for name in names:
        replace_if_changed(args.out_dir / f"{name}.json", canonical_json(named.get(name, defaults)))
    write_bytes_atomic(args.makefile, ("\n".join([*lines, *dict.fromkeys(sofa_rules)]) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
