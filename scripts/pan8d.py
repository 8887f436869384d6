"""Write OUT.wav: IN.wav moved around the listener's head (8D audio) by keyframes in bars and beats.

Inputs:  IN (WAV/FLAC; mono or stereo, summed to mono as the source), --automation FILE
         (YAML/JSON keyframes in our format, see dreamreel/audio/automation.py, or an old tool's
         effects.json, detected; --part picks one of its parts), --score SCORE (a score
         file .mid/.musicxml/.mxl/.mscz or a parsed build/score/score.json: the tempo map
         and bars) or, for a finished song, --beats-per-bar N (beat tracking of IN)
Outputs: OUT (float32 WAV, stereo, same rate and length as IN); --plot PNG: the azimuth
         over time with barlines above the L/R level of OUT
Options: --mode pan|binaural|sofa (default: the file's mode, else binaural); --sofa FILE: measured
         HRIRs (SOFA, read with h5py; implies --mode sofa)
Params:  none (in the pipeline, parts.<part>.pan drives the same code via process_stem.py)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from dreamreel.core.errors import DreamreelError, run_cli


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path, help="IN.wav")
    parser.add_argument("output", type=Path, help="OUT.wav")
    parser.add_argument("--automation", type=Path, required=True, help="keyframes (YAML/JSON) or an old effects.json")
    parser.add_argument("--score", type=Path, help="score file or build/score/score.json")
    parser.add_argument("--beats-per-bar", type=int, help="for a song without a score: beats per bar of the tracked beat grid")
    parser.add_argument("--part", help="which part of an old effects.json holding several")
    parser.add_argument("--mode", choices=("pan", "binaural", "sofa"), help="override the automation's mode")
    parser.add_argument("--sofa", type=Path, help="a SOFA file of measured HRIRs (mode sofa)")
    parser.add_argument("--plot", type=Path, help="also write this PNG: azimuth over time and the L/R level")
    args = parser.parse_args(argv)

    from dataclasses import replace

    from dreamreel.audio.automation_file import load_automation_file
    from dreamreel.audio.panning_slot import load_clock, render_automation
    from dreamreel.core.audio_io import read_audio, write_audio
    from dreamreel.score.musical_time import song_clock

    if (args.score is None) == (args.beats_per_bar is None):
        raise DreamreelError("pan8d.py", "give either --score (a score or score.json) or --beats-per-bar (beat tracking of a song)",
                             "e.g. --score build/score/score.json, or --beats-per-bar 4")
    audio, rate = read_audio(args.input)
    if audio.shape[0] > 2:
        raise DreamreelError(str(args.input), f"has {audio.shape[0]} channels", "give a mono or stereo file")
    if args.score is not None:
        clock = load_clock(args.score)
    else:
        if args.beats_per_bar < 1:
            raise DreamreelError("--beats-per-bar", f"must be at least 1, got {args.beats_per_bar}", "e.g. 4")
        clock = song_clock(audio, rate, beats_per_bar=args.beats_per_bar, where=str(args.input))
    automation = load_automation_file(args.automation, clock, part=args.part)
    if args.mode:
        automation = replace(automation, mode=args.mode)
    if args.sofa:
        automation = replace(automation, mode="sofa", sofa=str(args.sofa))
    if automation.mode == "sofa" and not automation.sofa:
        raise DreamreelError("--mode sofa", "needs a SOFA file", "add --sofa path/to/hrirs.sofa")
    rendered, control = render_automation(audio, rate, automation)
    write_audio(args.output, rendered, rate)
    if args.plot:
        from dreamreel.preview.pan_plot import PartView, draw_pan_picture

        times = np.arange(len(control.azimuth_deg)) * control.hop_samples / rate
        view = PartView(args.input.stem, times, control.azimuth_deg, rendered, rate, automation.mode)
        draw_pan_picture(args.plot, [view], clock, title=f"8D pan: {args.input.name}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
