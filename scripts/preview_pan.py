"""Write out/<piece>-pan.png: every part's 8D azimuth over time with barlines, above its L/R level.

Inputs:  SCORE_JSON (build/score/score.json: tempo map and bars), --params FILES
         (build/params/part/<part>.json; the part is the file name), --audio FILES
         (the rendered build/fx/<part>.dry.wav, matched to parts by the name before the
         first dot)
Outputs: OUT (PNG)
Params:  parts.<part>.pan (read from each part's params file)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import add_params_name_option, load_section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("score_json", type=Path)
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--params", type=Path, nargs="+", required=True, help="build/params/part/<part>.json")
    parser.add_argument("--audio", type=Path, nargs="*", default=[], help="build/fx/<part>.dry.wav (or .wet.wav)")
    parser.add_argument("--title", default="")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    from dreamreel.audio.automation import parse_automation
    from dreamreel.audio.panning_slot import load_clock
    from dreamreel.core.audio_io import read_audio
    from dreamreel.preview.pan_plot import PartView, draw_pan_picture

    clock = load_clock(args.score_json)
    audio_by_part = {path.name.split(".")[0]: path for path in args.audio}
    views = []
    for params_path in args.params:
        name = params_path.stem
        settings, where = load_section(params_path, f"parts.{name}", params_name=args.params_name)
        audio, rate = (None, 48_000)
        if name in audio_by_part:
            audio, rate = read_audio(audio_by_part[name])
            if audio.shape[0] == 1:
                audio = np.repeat(audio, 2, axis=0)
        if settings.get("pan") is None:
            views.append(PartView(name, None, None, audio, rate))
            continue
        automation = parse_automation(settings["pan"], load_clock(args.score_json), where=f"{where}.pan")
        samples = audio.shape[-1] if audio is not None else int(round((clock.duration_s + 3.0) * rate))
        control = automation.control(samples, rate)
        times = np.arange(len(control.azimuth_deg)) * control.hop_samples / rate
        views.append(PartView(name, times, control.azimuth_deg, audio, rate, automation.mode))
    if not views:
        raise DreamreelError("--params", "no parts given", "pass build/params/part/*.json")
    draw_pan_picture(args.out, views, clock, title=args.title or "8D pan automation")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
