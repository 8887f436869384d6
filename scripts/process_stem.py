"""Process one stem into build/fx/<part>.dry.wav and build/fx/<part>.wet.wav.

Inputs:  STEM (build/stems/<part>.wav), SCORE_JSON (tempo map for 8D pan automation)
Outputs: DRY and WET (float32 WAV, same length as the stem)
Params:  parts.<part>.gain_db, .mute, .tremolo.*, .reverb.*, .pan (8D automation slot)
Chains:  dry = tremolo -> 8D pan -> gain;  wet = tremolo -> 8D pan -> reverb (wet only) -> gain
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from dreamreel.audio.effects import apply_chain, part_chains
from dreamreel.audio.panning_slot import pan_effect
from dreamreel.core.audio_io import read_audio, write_audio
from dreamreel.core.errors import run_cli
from dreamreel.core.params import add_params_name_option, load_section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stem", type=Path)
    parser.add_argument("--params", type=Path, required=True, help="build/params/part/<part>.json")
    parser.add_argument("--score", type=Path, required=True, help="build/score/score.json (tempo map)")
    parser.add_argument("--dry", type=Path, required=True)
    parser.add_argument("--wet", type=Path, required=True)
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    settings, where = load_section(args.params, f"parts.{args.stem.stem}", params_name=args.params_name)
    audio, rate = read_audio(args.stem)
    if settings["mute"]:
        audio = np.zeros_like(audio)
    pan = pan_effect(settings.get("pan"), score_json=args.score, where=f"{where}.pan")
    dry_chain, wet_chain = part_chains(settings, pan=pan)
    write_audio(args.dry, apply_chain(dry_chain, audio, rate), rate)
    write_audio(args.wet, apply_chain(wet_chain, audio, rate), rate)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
