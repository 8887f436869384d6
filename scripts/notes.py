"""Make build/gan/notes.npz: the score's notes as per-part signals at every video frame, and the sections.

Inputs:  features.npz (its frame rate and frame count: notes.npz has exactly its frames; and,
         for a song, the chroma, bands and RMS that segmentation reads); --score score.json,
         the piece in its played form (none for a song without notes: no parts).
Output:  notes.npz: parts; per frame and part note_on, velocity, envelope, pitch_low,
         pitch_high, pitch_mean, pitch_classes (12), density; the sections
         (section_start_frame, section_start_s, section_label, section_kind, section_bar);
         the bars (bar_start_s, bar_number).
Params:  notes.attack_s, notes.release_s, notes.density_window_s, notes.section_bars,
         notes.section_times_s, notes.song_sections.
Sections come from the score's marks (--sections score, the default with a score) or from
segmenting the audio (--sections audio, the default without one: a song, whose transcribed
or given notes carry no rehearsal marks).
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction

from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import add_params_name_option, load_section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features", help="build/gan/features.npz")
    parser.add_argument("output", help="notes file to write, e.g. build/gan/notes.npz")
    parser.add_argument("--params", required=True, help="build/params/notes.json")
    parser.add_argument("--score", default="", help="build/score/score.json; none for a song without notes")
    parser.add_argument("--sections", choices=("score", "audio"), default=None,
                        help="where sections come from: the score's marks, or segmentation of the audio (default: score when there is one)")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    from dreamreel.core.npz import open_npz, save_npz
    from dreamreel.gan import form, notes
    from dreamreel.gan.sections import NOTES
    from dreamreel.score.model import load_score_json

    params, where = load_section(args.params, "notes", params_name=args.params_name, schema=NOTES)
    features = open_npz(args.features, what="features")
    fps = Fraction(int(features["fps_num"]), int(features["fps_den"]))
    n_frames = int(features["n_frames"])
    score = load_score_json(args.score) if args.score else None
    source = args.sections or ("score" if score is not None else "audio")
    if source == "score":
        if score is None:
            raise DreamreelError("notes.py --sections score", "there is no score to take sections from", "pass --score, or --sections audio")
        sections = form.score_sections(score, fps=fps, n_frames=n_frames, section_bars=params["section_bars"],
                                       section_times_s=params["section_times_s"], where=where)
    else:
        if params["section_bars"]:
            raise DreamreelError(f"{where}.section_bars", "a song has no bars to start sections at",
                                 "give notes.section_times_s in seconds instead")
        sections = form.segment_song(features, sections=params["song_sections"], section_times_s=params["section_times_s"], where=where)
        if score is not None:
            sections = form.on_bars(sections, score)
    members = notes.note_signals(score, fps=fps, n_frames=n_frames, params=params)
    members.update(notes.section_members(sections))
    members.update(notes.bar_members(score))
    members.update(fps_num=features["fps_num"], fps_den=features["fps_den"], n_frames=features["n_frames"])
    save_npz(args.output, members)
    parts = ", ".join(str(name) for name in members["parts"]) or "no parts"
    marks = ", ".join(f"{s.label} ({s.start_s:.1f} s)" for s in sections)
    print(f"notes: {n_frames} frames, {parts}; {len(sections)} section{'s' if len(sections) != 1 else ''} from the {source}: {marks} -> {args.output}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
