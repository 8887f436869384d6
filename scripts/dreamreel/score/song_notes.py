"""A song's notes as a :class:`Score` on the song's own clock: a MIDI file placed by an offset.

A MIDI file the user gives beside a song (``MIDI=song.mid``) has its own time 0, which
need not be the song's: a DAW export may start with a count-in bar, or the song with a
silent lead-in. ``song.midi_offset_s`` says where the MIDI's time 0 falls in the song.
:func:`place_in_song` returns the same notes, tempo map and bars in ticks whose seconds
are the song's seconds, which is what the note signals (``notes.npz``) read.

The shift stays in ticks, so the MIDI's bars, meters and tempo changes keep their
meaning. The time between the song's start and the MIDI's first barline used becomes a
pickup bar (bar 0) of one quarter note, at a tempo that makes that quarter last exactly
the lead-in (to the microsecond, the tempo map's unit). With a negative offset the song
starts inside the MIDI: the tempo map is cut at the first barline at or after the song's
start, and any note between the song's start and that barline is placed in the pickup
bar at its time (to the tick).

:func:`check_span` refuses a MIDI that does not fit the song: notes starting before the
song or ending after its end (beyond ``midi_tolerance_s``), or a last note ending more than
``midi_tail_s`` before the song ends.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.score.model import MeterChange, Note, Score, TempoChange
from dreamreel.score.musical_time import TempoMap

# A lead-in shorter than this is no lead-in: the song starts on a barline of the MIDI.
NO_LEAD_IN_S = 1e-6


def note_seconds(score: Score) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times in seconds of every note of every part, float64 (N,) each."""
    tempo = TempoMap.from_score(score)
    starts = np.array([n.start_tick for part in score.parts for n in part.notes], dtype=np.float64)
    ends = np.array([n.end_tick for part in score.parts for n in part.notes], dtype=np.float64)
    return np.atleast_1d(tempo.tick_to_seconds(starts)), np.atleast_1d(tempo.tick_to_seconds(ends))


def check_span(score: Score, *, offset_s: float, song_s: float, tolerance_s: float, tail_s: float, where: str) -> None:
    """Refuse a MIDI (read on its own clock) whose notes, moved by ``offset_s``, do not fit a song of ``song_s`` seconds."""
    starts, ends = note_seconds(score)
    first, last_end = starts.min() + offset_s, ends.max() + offset_s
    span = f"its notes, placed at song.midi_offset_s {offset_s:g} s, run from {first:.2f} s to {last_end:.2f} s, but the song is {song_s:.2f} s long"
    if first < -tolerance_s:
        raise DreamreelError(where, f"the MIDI starts before the song: {span}",
                             "raise song.midi_offset_s by the MIDI's lead-in, or give the MIDI of this song")
    if last_end > song_s + tolerance_s:
        raise DreamreelError(where, f"the MIDI is longer than the song: {span}",
                             "check song.midi_offset_s (seconds, where the MIDI's time 0 falls in the song), or give the MIDI of this song")
    if last_end < song_s - tail_s:
        raise DreamreelError(where, f"the MIDI is shorter than the song: {span}, more than song.midi_tail_s {tail_s:g} s after its last note",
                             "give the MIDI of the whole song, or raise song.midi_tail_s if the song's end really has no notes")


def place_in_song(score: Score, offset_s: float) -> Score:
    """``score`` with its time 0 moved to ``offset_s`` seconds into the song.

    Notes that would start before the song's start (within the caller's tolerance) start
    at 0; their ends keep their times.
    """
    tempo = TempoMap.from_score(score)
    start_s = max(0.0, -offset_s)  # the MIDI's time at the song's start
    bar_s = np.atleast_1d(tempo.tick_to_seconds(np.array(score.bar_ticks, dtype=np.float64)))
    later = np.nonzero(bar_s >= start_s - NO_LEAD_IN_S)[0]
    # The first barline at or after the song's start (past the last one: the last one).
    first_bar = int(later[0]) if len(later) else len(score.bar_ticks) - 1
    cut_tick = score.bar_ticks[first_bar]
    lead_s = float(bar_s[first_bar]) - start_s if offset_s <= 0 else offset_s
    lead_ticks = score.ticks_per_quarter if lead_s > NO_LEAD_IN_S else 0

    def moved(tick: int) -> int:
        if tick >= cut_tick:
            return tick - cut_tick + lead_ticks
        # Before the cut: inside the pickup bar, placed by its time in the song.
        seconds = float(tempo.tick_to_seconds(tick)) - start_s
        return int(np.clip(round(seconds / lead_s * lead_ticks), 0, lead_ticks)) if lead_ticks else 0

    def in_effect(changes: list, tick: int):
        return [change for change in changes if change.tick <= tick][-1]

    tempos = [TempoChange(lead_ticks, in_effect(score.tempos, cut_tick).us_per_quarter)]
    tempos += [TempoChange(moved(t.tick), t.us_per_quarter) for t in score.tempos if t.tick > cut_tick]
    if lead_ticks:
        tempos.insert(0, TempoChange(0, max(1, round(lead_s * 1e6))))
    meter = in_effect(score.meters, cut_tick)
    meters = [MeterChange(0, meter.numerator, meter.denominator)]
    meters += [MeterChange(moved(m.tick), m.numerator, m.denominator) for m in score.meters if m.tick > cut_tick]
    bars = ([0] if lead_ticks else []) + [moved(tick) for tick in score.bar_ticks[first_bar:]]
    first_number = score.first_bar_number + first_bar - (1 if lead_ticks else 0)
    parts = []
    for part in score.parts:
        notes = []
        for note in part.notes:
            start, end = moved(note.start_tick), moved(note.end_tick)
            if end > start:
                notes.append(Note(start, end, note.pitch, note.velocity))
        parts.append(dataclasses.replace(part, notes=sorted(notes, key=lambda n: (n.start_tick, n.pitch))))
    if len(bars) < 2:  # every note before the cut: the pickup is the whole piece
        bars.append(max([lead_ticks] + [n.end_tick for part in parts for n in part.notes]))
    marks = [dataclasses.replace(mark, tick=moved(mark.tick)) for mark in score.marks if mark.tick >= cut_tick]
    return dataclasses.replace(score, parts=[part for part in parts if part.notes], tempos=tempos, meters=meters,
                               bar_ticks=bars, first_bar_number=first_number, marks=marks)


def song_score(score: Score, *, offset_s: float, song_s: float, tolerance_s: float, tail_s: float, where: str) -> Score:
    """A MIDI's score checked against a song of ``song_s`` seconds and placed in it."""
    check_span(score, offset_s=offset_s, song_s=song_s, tolerance_s=tolerance_s, tail_s=tail_s, where=where)
    placed = place_in_song(score, offset_s)
    if not placed.parts:
        raise DreamreelError(where, "no note of the MIDI falls inside the song", "check song.midi_offset_s, or give the MIDI of this song")
    return placed

