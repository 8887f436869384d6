"""A MIDI file placed in a song by an offset: notes at song time, bars kept, bad fits refused."""

from __future__ import annotations

import pytest
from conftest import write_midi

from dreamreel.core.errors import DreamreelError
from dreamreel.score.midi_file import read_midi
from dreamreel.score.musical_time import TempoMap
from dreamreel.score.song_notes import check_span, note_seconds, place_in_song, song_score

# 120 BPM, 480 ticks a quarter: a quarter is 0.5 s, a 4/4 bar 2 s.
PARTS = {"Lead": [(0, 480, 60), (960, 1440, 64), (1920, 3840, 67)], "Bass": [(480, 1920, 36)]}


@pytest.fixture
def midi(tmp_path):
    return read_midi(write_midi(tmp_path / "song.mid", PARTS))


def starts(score, part):
    """Start times in seconds of one part's notes."""
    tempo = TempoMap.from_score(score)
    return [tempo.tick_to_seconds(note.start_tick) for note in next(p for p in score.parts if p.name == part).notes]


def test_a_positive_offset_moves_every_note_and_makes_the_lead_in_a_pickup_bar(midi):
    placed = place_in_song(midi, 1.25)
    assert starts(placed, "lead") == pytest.approx([1.25, 2.25, 3.25])
    assert starts(placed, "bass") == pytest.approx([1.75])
    _, ends = note_seconds(placed)
    assert max(ends) == pytest.approx(1.25 + 4.0)
    # Bar 0 is the lead-in; the MIDI's bar 1 starts where its time 0 now falls.
    assert placed.first_bar_number == 0
    assert placed.bar_ticks[:2] == [0, 480]
    assert [t.us_per_quarter for t in placed.tempos] == [1_250_000, 500_000]


def test_a_negative_offset_cuts_a_count_in_bar_and_keeps_the_bar_numbers(tmp_path):
    count_in = {"Lead": [(1920 + start, 1920 + end, pitch) for start, end, pitch in PARTS["Lead"]]}
    placed = place_in_song(read_midi(write_midi(tmp_path / "count-in.mid", count_in)), -2.0)
    assert starts(placed, "lead") == pytest.approx([0.0, 1.0, 2.0])
    assert placed.first_bar_number == 2 and placed.bar_ticks[0] == 0


def test_a_negative_offset_inside_a_bar_places_its_notes_by_time(midi):
    # The song starts 0.5 s into the MIDI: the rest of bar 1 (1.5 s) is the pickup. The
    # first note, 0 to 0.5 s in the MIDI, is all before the song.
    placed = place_in_song(midi, -0.5)
    assert starts(placed, "lead") == pytest.approx([0.5, 1.5], abs=1e-3)
    assert starts(placed, "bass") == pytest.approx([0.0], abs=1e-3)
    assert placed.first_bar_number == 1 and placed.bar_ticks[:2] == [0, 480]


def test_a_zero_offset_keeps_the_clock(midi):
    placed = place_in_song(midi, 0.0)
    assert placed.tempos == midi.tempos and placed.bar_ticks == midi.bar_ticks
    assert [p.notes for p in placed.parts] == [p.notes for p in midi.parts]


def test_tempo_changes_and_meters_stay_where_they_were_in_the_music(tmp_path):
    path = write_midi(tmp_path / "ramp.mid", {"Lead": [(0, 480, 60), (1920, 2400, 62)]},
                      tempos=[(0, 500_000), (1920, 1_000_000)], meters=[(0, 4, 4), (1920, 3, 4)])
    placed = place_in_song(read_midi(path), 3.0)
    assert starts(placed, "lead") == pytest.approx([3.0, 5.0])
    assert [(m.numerator, m.denominator) for m in placed.meters] == [(4, 4), (3, 4)]
    assert [t.us_per_quarter for t in placed.tempos] == [3_000_000, 500_000, 1_000_000]


@pytest.mark.parametrize("offset_s, song_s, message", [
    (2.0, 3.0, "longer than the song"),  # the last note ends at 4 s + 2 s, past the 3 s song and its 0.5 s tolerance
    (-1.0, 20.0, "starts before the song"),  # the first note at -1 s
    (0.0, 30.0, "shorter than the song"),  # the last note ends at 4 s: 26 s of song after it
])
def test_a_midi_that_does_not_fit_the_song_is_one_line(midi, offset_s, song_s, message):
    with pytest.raises(DreamreelError) as error:
        check_span(midi, offset_s=offset_s, song_s=song_s, tolerance_s=0.5, tail_s=10.0, where="MIDI=song.mid")
    assert message in str(error.value) and "MIDI=song.mid" in str(error.value)
    assert "\n" not in str(error.value)


def test_a_midi_within_the_tolerances_is_taken(midi):
    # Notes 0-4 s, the song 12 s: 8 s of tail is within 10 s; a note 0.3 s early is within 0.5 s.
    placed = song_score(midi, offset_s=-0.3, song_s=11.7, tolerance_s=0.5, tail_s=10.0, where="MIDI=song.mid")
    assert starts(placed, "lead")[0] == 0.0
