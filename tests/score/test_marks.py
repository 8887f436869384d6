"""Section marks in the score: rehearsal marks, double and final barlines, key changes; MusicXML and MIDI."""

from __future__ import annotations

import json

import mido
from conftest import write_midi
from musicxml_helpers import backward_repeat, forward_repeat, note, write_musicxml

from dreamreel.score.model import Mark, Score
from dreamreel.score.read import read_score

BAR = 4 * 480  # a 4/4 bar in the readers' ticks (480 a quarter for MusicXML with one division)


def rehearsal(text: str) -> str:
    return f"<direction><direction-type><rehearsal>{text}</rehearsal></direction-type></direction>"


def double_bar(style: str = "light-light", location: str = "right") -> str:
    return f'<barline location="{location}"><bar-style>{style}</bar-style></barline>'


def key(fifths: int, mode: str = "major") -> str:
    return f"<attributes><key><fifths>{fifths}</fifths><mode>{mode}</mode></key></attributes>"


def test_musicxml_rehearsal_marks_double_bars_and_key_changes(tmp_path):
    bars = [key(0) + rehearsal("A") + note(), note() + double_bar(), note(), key(2) + note(),
            rehearsal("B") + note(), note() + double_bar("light-heavy")]
    score = read_score(write_musicxml(tmp_path / "marks.musicxml", {"Flute": bars}))
    assert score.marks == [Mark(0, "rehearsal", "A"), Mark(2 * BAR, "double_bar"), Mark(3 * BAR, "key", "D major"),
                           Mark(4 * BAR, "rehearsal", "B")]  # the final barline starts nothing


def test_marks_follow_repeats_as_played(tmp_path):
    # Written: 1 | |: 2 (B) 3 :| 4 (key of E minor). Played: 1 2 3 2 3 4.
    bars = [rehearsal("A") + note(), forward_repeat() + rehearsal("B") + note(), note() + backward_repeat(),
            key(1, "minor") + note()]
    score = read_score(write_musicxml(tmp_path / "repeat.musicxml", {"Flute": bars}))
    assert len(score.bar_ticks) - 1 == 6
    # The repeat sign's thin-thick bar is not written here, so only rehearsal and key marks:
    # B on both passes, at played bars 2 and 4.
    assert score.marks == [Mark(0, "rehearsal", "A"), Mark(BAR, "rehearsal", "B"), Mark(3 * BAR, "rehearsal", "B"),
                           Mark(5 * BAR, "key", "E minor")]


def test_a_double_bar_before_a_repeat_marks_each_pass(tmp_path):
    # 1 || 2 :| 3: the double bar at the end of bar 1 marks played bar 2 (written 2); the
    # repeat goes back to bar 1, and the double bar marks written 2 again (played 4).
    bars = [note() + double_bar(), note() + backward_repeat(), note()]
    score = read_score(write_musicxml(tmp_path / "double.musicxml", {"Flute": bars}))
    assert [m.tick for m in score.marks if m.kind == "double_bar"] == [BAR, 3 * BAR]


def test_a_key_change_undone_by_a_repeat_is_marked_both_ways(tmp_path):
    # |: 1 (C) 2 (G) :| 3. Played: 1 2 1 2 3; back at bar 1 the key is C again.
    bars = [key(0) + note(), key(1) + note() + backward_repeat(), note()]
    score = read_score(write_musicxml(tmp_path / "keys.musicxml", {"Flute": bars}))
    assert [(m.tick // BAR, m.label) for m in score.marks] == [(1, "G major"), (2, "C major"), (3, "G major")]


def test_midi_markers_cues_and_key_signatures(tmp_path):
    path = write_midi(tmp_path / "marks.mid", {"Flute": [(0, 16 * 480, 60)]})
    midi = mido.MidiFile(str(path))
    events = [(0, mido.MetaMessage("key_signature", key="C")), (0, mido.MetaMessage("marker", text="Intro")),
              (4 * 480, mido.MetaMessage("marker", text="Verse")), (8 * 480, mido.MetaMessage("key_signature", key="Bbm")),
              (12 * 480, mido.MetaMessage("cue_marker", text="Chorus")), (12 * 480, mido.MetaMessage("key_signature", key="Bbm"))]
    track = mido.MidiTrack()  # a track of markers and key signatures beside the notes
    previous = 0
    for tick, message in events:
        track.append(message.copy(time=tick - previous))
        previous = tick
    midi.tracks.insert(1, track)
    midi.save(str(path))
    score = read_score(path)
    assert score.marks == [Mark(0, "rehearsal", "Intro"), Mark(4 * 480, "rehearsal", "Verse"), Mark(8 * 480, "key", "Bb minor"),
                           Mark(12 * 480, "rehearsal", "Chorus")]


def test_marks_round_trip_and_an_old_score_json_reads_with_none(tmp_path):
    bars = [rehearsal("Intro") + note(), note()]
    score = read_score(write_musicxml(tmp_path / "a.musicxml", {"Flute": bars}))
    assert Score.from_json(score.to_json()).marks == [Mark(0, "rehearsal", "Intro")]
    old = json.loads(score.to_json())
    del old["marks"]
    assert Score.from_json(json.dumps(old)).marks == []
