"""A score the tests build (several meters, a tempo ramp, a repeat, rehearsal marks) read into note signals and sections."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from dreamreel.gan import form, notes
from dreamreel.score.read import read_score


def bar(number: int, body: str, *, attributes: str = "", tempo_qpm: float | None = None, rehearsal: str = "", barline: str = "") -> str:
    marks = f'<direction><direction-type><rehearsal>{rehearsal}</rehearsal></direction-type></direction>' if rehearsal else ""
    tempo = f'<direction><sound tempo="{tempo_qpm:g}"/></direction>' if tempo_qpm else ""
    return f'<measure number="{number}">{attributes}{marks}{tempo}{body}{barline}</measure>'


def notes_of(duration: int, count: int, step: str = "C") -> str:
    """``count`` notes of ``duration`` divisions (two divisions a quarter)."""
    return f"<note><pitch><step>{step}</step><octave>5</octave></pitch><duration>{duration}</duration></note>" * count


def time(beats: int, beat_type: int) -> str:
    return f"<time><beats>{beats}</beats><beat-type>{beat_type}</beat-type></time>"


def meters_and_ramp(path) -> None:
    """|: A 4/4 q=120 | 4/4 :| B 3/4 q=100 | q=90 | q=80 || 6/8 | 6/8 |; played bars 1 2 1 2 3 4 5 6 7."""
    measures = [
        bar(1, notes_of(2, 4), attributes=f"<attributes><divisions>2</divisions>{time(4, 4)}</attributes>", tempo_qpm=120, rehearsal="A"),
        bar(2, notes_of(2, 4, "D"), barline='<barline location="right"><repeat direction="backward"/></barline>'),
        bar(3, notes_of(2, 3, "E"), attributes=f"<attributes>{time(3, 4)}</attributes>", tempo_qpm=100, rehearsal="B"),
        bar(4, notes_of(2, 3, "F"), tempo_qpm=90),
        bar(5, notes_of(2, 3, "G"), tempo_qpm=80, barline='<barline location="right"><bar-style>light-light</bar-style></barline>'),
        bar(6, notes_of(3, 2, "A"), attributes=f"<attributes>{time(6, 8)}</attributes>"),
        bar(7, notes_of(3, 2, "B"), barline='<barline location="right"><bar-style>light-heavy</bar-style></barline>'),
    ]
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<score-partwise version="3.1"><part-list><score-part id="P1">'
                    f'<part-name>Marimba</part-name></score-part></part-list><part id="P1">{"".join(measures)}</part></score-partwise>\n')


def test_note_frames_and_sections_of_a_score_with_meters_a_ramp_and_a_repeat(tmp_path):
    meters_and_ramp(tmp_path / "ramp.musicxml")
    score = read_score(tmp_path / "ramp.musicxml")
    members = notes.note_signals(score, fps=Fraction(30), n_frames=600, params={"attack_s": 0.01, "release_s": 0.3, "density_window_s": 1.0})
    note_on = members["note_on"].collect()[:, 0]
    # 120 BPM, quarters: 0, 0.5, ... s, twice (the repeat); 3/4 at 100 from 8 s (0.6 s a
    # quarter); at 90 from 9.8 s (666667 µs a quarter); at 80 from 11.800001 s (12.550001 s
    # is frame 376.50003: 377); 6/8 dotted quarters from 14.050001 s (frame 421.50003: 422).
    expected = [0, 15, 30, 45, 60, 75, 90, 105, 120, 135, 150, 165, 180, 195, 210, 225,
                240, 258, 276, 294, 314, 334, 354, 377, 399, 422, 455, 489, 523]
    assert np.flatnonzero(note_on).tolist() == expected
    sections = form.score_sections(score, fps=Fraction(30), n_frames=600)
    # A on both passes of the repeat; B with the 3/4 and the tempo change (the ramp's later
    # steps start nothing); the double bar with the 6/8.
    assert [(s.bar, s.kind, s.label, s.start_frame) for s in sections] == [
        (1, "rehearsal", "A", 0), (3, "rehearsal", "A", 120), (5, "rehearsal", "B", 240), (8, "double_bar", "bar 8", 422)]
