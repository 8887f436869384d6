"""Repeats, voltas and jumps played out: the play order of written bars, and MusicXML read in played form."""

from __future__ import annotations

import pytest
from dreamreel.score.musical_time import MusicalClock, TempoMap
from dreamreel.score.read import read_score
from dreamreel.score.repeats import BarMarks, describe_order, play_order
from musicxml_helpers import backward_repeat, ending, forward_repeat, note, sound, write_musicxml


def bars(count: int, **marks: dict) -> list[BarMarks]:
    """``count`` plain bars numbered from 1; ``marks`` maps 'b<index>' to that bar's marks."""
    result = [BarMarks(number=str(index + 1)) for index in range(count)]
    for key, values in marks.items():
        for name, value in values.items():
            setattr(result[int(key[1:])], name, value)
    return result


@pytest.mark.parametrize("score, expected", [
    (bars(3), [0, 1, 2]),
    # A repeat without a forward sign goes back to the start.
    (bars(3, b1={"backward_repeat": True}), [0, 1, 0, 1, 2]),
    (bars(4, b1={"forward_repeat": True}, b2={"backward_repeat": True}), [0, 1, 2, 1, 2, 3]),
    (bars(2, b0={"backward_repeat": True, "times": 3}), [0, 0, 0, 1]),
    # The second repeat without its own forward sign goes back to the bar after the first.
    (bars(3, b0={"backward_repeat": True}, b1={"backward_repeat": True}), [0, 0, 1, 1, 2]),
])
def test_repeats(score, expected):
    assert play_order(score) == (expected, [])


@pytest.mark.parametrize("score, expected", [
    # |: 0 [1. 1 :| [2. 2 | 3
    (bars(4, b0={"forward_repeat": True}, b1={"ending_start": "1", "ending_stop": True, "backward_repeat": True},
          b2={"ending_start": "2", "ending_stop": True}), [0, 1, 0, 2, 3]),
    # Three passes from the volta numbers alone: [1, 2. 1 :| [3. 2
    (bars(3, b1={"ending_start": "1, 2", "ending_stop": True, "backward_repeat": True}, b2={"ending_start": "3", "ending_stop": True}),
     [0, 1, 0, 1, 0, 2]),
    # A repeat in each of the first two voltas: [1. 1 :| [2. 2 :| [3. 3
    (bars(4, b1={"ending_start": "1", "ending_stop": True, "backward_repeat": True},
          b2={"ending_start": "2", "ending_stop": True, "backward_repeat": True}, b3={"ending_start": "3", "ending_stop": True}),
     [0, 1, 0, 2, 0, 3]),
    # A volta two bars long, and times="3" on its repeat: [1, 2. 1 2 :| [3. 3
    (bars(4, b1={"ending_start": "1,2"}, b2={"ending_stop": True, "backward_repeat": True, "times": 3}, b3={"ending_start": "3", "ending_stop": True}),
     [0, 1, 2, 0, 1, 2, 0, 3]),
])
def test_voltas(score, expected):
    assert play_order(score) == (expected, [])


@pytest.mark.parametrize("score, expected", [
    # D.C. al Fine: the repeat is not taken again after the jump.
    (bars(4, b0={"backward_repeat": True}, b1={"fine": True}, b3={"dacapo": True}), [0, 0, 1, 2, 3, 0, 1]),
    # ... unless it is marked after-jump.
    (bars(3, b0={"backward_repeat": True, "after_jump": True}, b1={"fine": True}, b2={"dacapo": True}), [0, 0, 1, 2, 0, 0, 1]),
    # D.S. al Coda: segno at bar 1, to coda at the end of bar 2, coda at bar 4.
    (bars(6, b1={"segno": {"segno"}}, b2={"tocoda": {"coda"}}, b3={"dalsegno": {"segno"}}, b4={"coda": {"coda"}}),
     [0, 1, 2, 3, 1, 2, 4, 5]),
    # Two jumps: a D.S. (to bar 1), then later a D.C.; each is taken once.
    (bars(4, b1={"segno": {"s"}}, b2={"dalsegno": {"s"}}, b3={"dacapo": True}), [0, 1, 2, 1, 2, 3, 0, 1, 2, 3]),
    # After a D.C., only the last volta of a group plays.
    (bars(4, b0={"forward_repeat": True}, b1={"ending_start": "1", "ending_stop": True, "backward_repeat": True},
          b2={"ending_start": "2", "ending_stop": True, "fine": True}, b3={"dacapo": True}), [0, 1, 0, 2, 3, 0, 2]),
])
def test_jumps(score, expected):
    assert play_order(score) == (expected, [])


def test_a_jump_without_its_target_and_unreached_bars_are_told():
    order, notices = play_order(bars(3, b1={"dalsegno": {"segno"}}))
    assert order == [0, 1, 2]
    assert notices == ["bar 2: the jump to segno 'segno' finds no segno; played on without it"]
    order, notices = play_order(bars(4, b0={"fine": True}, b1={"dacapo": True}, b2={"coda": {"coda"}}))
    assert order == [0, 1, 0]
    assert notices == ["bars 3-4: never played (no repeat, volta or jump leads there)"]


def test_a_volta_without_a_number_plays_every_time_and_is_told():
    order, notices = play_order(bars(3, b1={"ending_start": "", "ending_stop": True, "backward_repeat": True}))
    assert order == [0, 1, 0, 1, 2]
    assert notices == ["bar 2: the volta '' has no number; it plays on every pass"]


def test_describe_order_uses_written_numbers():
    score = bars(5, b2={"backward_repeat": True}, b1={"forward_repeat": True})
    assert describe_order(score, play_order(score)[0]) == "1-3, 2-5"


# ---- MusicXML read in played form -------------------------------------------------------

def five_bars(*templates: str) -> list[str]:
    """Five 4/4 bars of one whole note each (C4 D4 E4 F4 G4); ``templates`` dress bars 1, 2, ... around 'NOTE'."""
    templates = templates + ("NOTE",) * (5 - len(templates))
    return [template.replace("NOTE", note(step)) for template, step in zip(templates, "CDEFG")]


def test_a_ten_second_score_with_a_four_second_repeat_plays_fourteen_seconds(tmp_path, capsys):
    # 120 BPM in 4/4: 2 s a bar. Bars 2-3 repeated.
    written = five_bars("NOTE", forward_repeat() + "NOTE", "NOTE" + backward_repeat())
    score = read_score(write_musicxml(tmp_path / "r.musicxml", {"Flute": written}))
    q = score.ticks_per_quarter
    assert TempoMap.from_score(score).tick_to_seconds(score.end_tick) == pytest.approx(14.0)
    assert score.bar_ticks == [bar * 4 * q for bar in range(8)]
    assert [(n.start_tick // (4 * q), n.pitch) for n in score.parts[0].notes] == [(0, 60), (1, 62), (2, 64), (3, 62), (4, 64), (5, 65), (6, 67)]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "dreamreel: notice:" in err
    assert "5 written bars play as 7 (written 1-3, 2-5); bar numbers in params count the played bars" in err

    # Bars in params count the played bars: played bar 6 is written bar 4, at 10 s.
    clock = MusicalClock.from_score(score)
    assert (clock.first_bar, clock.last_bar) == (1, 7)
    assert clock.position_to_seconds(6) == pytest.approx(10.0)


def test_voltas_and_times_in_musicxml(tmp_path):
    # |: 1 [1. 2 :| [2. 3 | 4 :| x3 (times on the second repeat) | 5
    written = five_bars(
        forward_repeat() + "NOTE",
        ending("1", "start") + "NOTE" + ending("1", "stop") + backward_repeat(),
        ending("2", "start") + "NOTE" + ending("2", "discontinue"),
        forward_repeat() + "NOTE" + backward_repeat(times=3),
    )
    score = read_score(write_musicxml(tmp_path / "v.musicxml", {"Flute": written}))
    assert [n.pitch for n in score.parts[0].notes] == [60, 62, 60, 64, 65, 65, 65, 67]
    assert len(score.bar_ticks) == 9


def test_da_capo_al_fine_and_dal_segno_al_coda_in_musicxml(tmp_path, capsys):
    dc = five_bars("NOTE", "NOTE" + sound(fine="yes"), "NOTE", "NOTE" + sound(dacapo="yes"))
    score = read_score(write_musicxml(tmp_path / "dc.musicxml", {"Flute": dc}))
    assert [n.pitch for n in score.parts[0].notes] == [60, 62, 64, 65, 60, 62]
    assert "bar 5: never played" in capsys.readouterr().err

    ds = five_bars(sound(segno="s") + "NOTE", "NOTE" + sound(tocoda="c"), "NOTE" + sound(dalsegno="s"), "NOTE", sound(coda="c") + "NOTE")
    score = read_score(write_musicxml(tmp_path / "ds.musicxml", {"Flute": ds}))
    # 1 2 3 (D.S.) 1 2 (to coda) 5; bar 4 is skipped, which is what the marks say.
    assert [n.pitch for n in score.parts[0].notes] == [60, 62, 64, 60, 62, 67]


def test_segno_and_coda_drawn_as_signs_only_are_found_by_their_jumps(tmp_path, capsys):
    # Some exporters name the jumps (<sound dalsegno="segno"/>) but draw the targets only as signs.
    segno_sign = "<direction><direction-type><segno/></direction-type></direction>"
    coda_sign = "<direction><direction-type><coda/></direction-type></direction>"
    to_coda = '<direction><direction-type><coda/></direction-type><sound tocoda="coda"/></direction>'
    ds = five_bars(segno_sign + "NOTE", "NOTE" + to_coda, "NOTE" + sound(dalsegno="segno"), "NOTE", coda_sign + "NOTE")
    score = read_score(write_musicxml(tmp_path / "signs.musicxml", {"Flute": ds}))
    assert [n.pitch for n in score.parts[0].notes] == [60, 62, 64, 60, 62, 67]
    # Two unnamed segno signs: which one is meant cannot be known, and that is said.
    two = five_bars(segno_sign + "NOTE", segno_sign + "NOTE", "NOTE" + sound(dalsegno="segno"))
    capsys.readouterr()
    score = read_score(write_musicxml(tmp_path / "two.musicxml", {"Flute": two}))
    assert len(score.parts[0].notes) == 5
    assert "bar 3: the jump to segno 'segno' finds 2 segnos, none named 'segno'; played on without it" in capsys.readouterr().err


def test_jump_words_without_a_playback_mark_are_told_not_guessed(tmp_path, capsys):
    words = "<direction><direction-type><words>D.C. al Fine</words></direction-type></direction>"
    score = read_score(write_musicxml(tmp_path / "w.musicxml", {"Flute": five_bars("NOTE", "NOTE", "NOTE", "NOTE" + words)}))
    assert len(score.parts[0].notes) == 5
    err = capsys.readouterr().err.strip()
    assert err == f"dreamreel: notice: {tmp_path / 'w.musicxml'}: the words 'D.C. al Fine' without a playback jump (<sound dacapo/dalsegno/tocoda/fine>) in bar 4: not played out"

    # The words in one part and the playback mark in another: the jump is played, no notice.
    parts = {"Flute": five_bars("NOTE", "NOTE", "NOTE", "NOTE" + sound(dacapo="yes")), "Oboe": five_bars("NOTE", "NOTE", "NOTE", "NOTE" + words)}
    score = read_score(write_musicxml(tmp_path / "w2.musicxml", parts))
    assert len(score.parts[1].notes) == 9 and "without a playback jump" not in capsys.readouterr().err


def test_marks_for_some_passes_only_are_told(tmp_path, capsys):
    slower_second_time = '<direction><sound tempo="60" time-only="2"/></direction>'
    read_score(write_musicxml(tmp_path / "t.musicxml", {"Flute": five_bars("NOTE", slower_second_time + "NOTE" + backward_repeat())}))
    assert "<sound time-only> marks (applied on every pass, not only the passes named) in bar 2: not played out" in capsys.readouterr().err


def test_a_repeat_returns_to_the_tempo_and_meter_written_there(tmp_path):
    # Bar 1 at 120 BPM in 4/4; bar 2 at 60 BPM in 3/4; repeat to the start, then bar 3.
    bar_two = '<attributes><time><beats>3</beats><beat-type>4</beat-type></time></attributes><direction><sound tempo="60"/></direction>'
    written = [note(), bar_two + note(quarters=3) + backward_repeat(), note(quarters=3)]
    score = read_score(write_musicxml(tmp_path / "t.musicxml", {"Flute": written}))
    q = score.ticks_per_quarter
    assert [(t.tick, round(t.bpm)) for t in score.tempos] == [(0, 120), (4 * q, 60), (7 * q, 120), (11 * q, 60)]
    assert [(m.tick, m.numerator, m.denominator) for m in score.meters] == [(0, 4, 4), (4 * q, 3, 4), (7 * q, 4, 4), (11 * q, 3, 4)]
    assert score.bar_ticks == [0, 4 * q, 7 * q, 11 * q, 14 * q, 17 * q]


def test_a_tie_over_a_repeat_sign_stops_at_the_jump_and_goes_on_the_second_time(tmp_path):
    tied_g = '<note><pitch><step>G</step><octave>4</octave></pitch><duration>2</duration><tie type="{0}"/></note>'
    written = [note("C"), note("E", quarters=2) + tied_g.format("start") + backward_repeat(), tied_g.format("stop") + note("C", 5, 2)]
    score = read_score(write_musicxml(tmp_path / "tie.musicxml", {"Flute": written}))
    q = score.ticks_per_quarter
    g = [(n.start_tick // q, n.end_tick // q) for n in score.parts[0].notes if n.pitch == 67]
    assert g == [(6, 8), (14, 18)]  # played bars: 1 2 1 2 3; only the second G runs into bar 3


def test_bar_repeat_signs_play_the_bars_they_repeat(tmp_path):
    repeat_one = '<attributes><measure-style><measure-repeat type="start">1</measure-repeat></measure-style></attributes><note><rest measure="yes"/><duration>4</duration></note>'
    stop = '<attributes><measure-style><measure-repeat type="stop"/></measure-style></attributes>'
    whole_rest = '<note><rest measure="yes"/><duration>4</duration></note>'
    written = [note("C", quarters=2) + note("E", quarters=2), repeat_one, whole_rest, stop + note("G")]
    score = read_score(write_musicxml(tmp_path / "m.musicxml", {"Flute": written}))
    q = score.ticks_per_quarter
    assert [(n.start_tick // q, n.pitch) for n in score.parts[0].notes] == [(0, 60), (2, 64), (4, 60), (6, 64), (8, 60), (10, 64), (12, 67)]
