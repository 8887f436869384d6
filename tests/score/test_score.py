"""Reading scores: MIDI and MusicXML into ticks, bars and a tempo map; errors for bad scores."""

from __future__ import annotations

import os
import subprocess
import zipfile
from fractions import Fraction

import pytest
from conftest import ROOT, TINY_PARTS, write_midi
from dreamreel.core.errors import DreamreelError
from dreamreel.score.midi_file import write_part_midi
from dreamreel.score.model import Score, unique_names
from dreamreel.score.musescore import find_musescore
from dreamreel.score.musical_time import MusicalClock, TempoMap
from dreamreel.score.read import read_score
from musicxml_helpers import NON_ASCII_NAMES, note, write_musicxml


def test_midi_parts_tempo_and_meters(tmp_path):
    path = write_midi(
        tmp_path / "a.mid", dict(TINY_PARTS, Glockenspiel=[(2400, 2880, 84)]),
        tempos=[(0, 500_000), (2160, 600_000)],  # 120 BPM, then 100 BPM from beat 2 of bar 2 (3/4)
        meters=[(0, 4, 4), (1920, 3, 4)],
    )
    score = read_score(path)
    assert score.part_names() == ["vibraphone", "marimba", "glockenspiel"]
    assert [(t.tick, t.us_per_quarter) for t in score.tempos] == [(0, 500_000), (2160, 600_000)]
    assert score.bar_ticks[:3] == [0, 1920, 3360]
    tempo = TempoMap.from_score(score)
    assert tempo.tick_to_seconds(1920) == pytest.approx(2.0)
    assert tempo.tick_to_seconds(2160 + 480) == pytest.approx(2.25 + 0.6)
    assert tempo.seconds_to_tick(2.85) == pytest.approx(2640)


def test_part_midi_round_trips(tmp_path, tiny_midi):
    score = read_score(tiny_midi)
    write_part_midi(score, score.parts[1], tmp_path / "marimba.mid", tail_ticks=480)
    again = read_score(tmp_path / "marimba.mid")
    assert again.parts[0].notes == score.parts[1].notes
    assert again.parts[0].program == 12 and again.tempos == score.tempos


def test_non_ascii_part_labels_survive_the_per_part_midi(tmp_path):
    score = read_score(write_musicxml(tmp_path / "s.musicxml", {name: [note()] for name in NON_ASCII_NAMES}))
    for part in score.parts:
        write_part_midi(score, part, tmp_path / "part.mid")
        assert read_score(tmp_path / "part.mid").parts[0].label == part.label


def test_latin1_track_names_from_other_tools_still_read(tmp_path):
    path = write_midi(tmp_path / "a.mid", {"Flûte": TINY_PARTS["Vibraphone"]})  # mido writes Latin-1
    assert read_score(path).parts[0].label == "Flûte"


def test_score_json_round_trips(tiny_midi):
    score = read_score(tiny_midi)
    again = Score.from_json(score.to_json())
    assert again == score


def test_unique_names_number_repeats():
    assert unique_names(["Marimba", "Marimba", "Vibraphone 2", "!!"]) == ["marimba", "marimba-2", "vibraphone-2", "part"]


def test_non_ascii_labels_keep_readable_names_that_make_can_carry():
    # Latin accents go; other scripts keep their letters; nothing Make reads specially stays.
    names = unique_names([*NON_ASCII_NAMES, "Гитара", "Weiß: 50% $ (#1)", "हिन्दी वाद्य", "Ｐｉａｎｏ", "🎸"])
    assert names == ["flute-a-bec", "гитара", "笛子", "гитара-2", "weiss-50-1", "हिन्दी-वाद्य", "piano", "part"]
    assert not any(char in name for name in names for char in " \t$#:%\\*?[]=;'\"")


def test_a_part_is_found_by_its_name_or_by_its_label(tmp_path):
    score = read_score(write_musicxml(tmp_path / "s.musicxml", [(name, [note()]) for name in (*NON_ASCII_NAMES, "Marimba", "Marimba")]))
    assert score.part_names() == ["flute-a-bec", "гитара", "笛子", "marimba", "marimba-2"]
    found = {key: score.find_part_name(key) for key in ("Гитара", "гитара", "Flûte à bec", "Flute a Bec", "笛子", "Marimba", "marimba-2", "Guitar")}
    assert found == {"Гитара": "гитара", "гитара": "гитара", "Flûte à bec": "flute-a-bec", "Flute a Bec": "flute-a-bec",
                     "笛子": "笛子", "Marimba": "marimba", "marimba-2": "marimba-2", "Guitar": None}


MUSICXML = """<?xml version="1.0"?>
<score-partwise version="3.1">
  <part-list>
    <score-part id="P1"><part-name>Glockenspiel</part-name>
      <midi-instrument id="P1-I1"><midi-program>10</midi-program></midi-instrument></score-part>
    <score-part id="P2"><part-name>Marimba</part-name></score-part>
  </part-list>
  <part id="P1">
    <measure number="0" implicit="yes">
      <attributes><divisions>2</divisions><time><beats>3</beats><beat-type>4</beat-type></time>
        <transpose><diatonic>0</diatonic><chromatic>0</chromatic><octave-change>2</octave-change></transpose></attributes>
      <direction><sound tempo="90"/></direction>
      <note><pitch><step>G</step><octave>4</octave></pitch><duration>2</duration></note>
    </measure>
    <measure number="1">
      <note><pitch><step>C</step><octave>5</octave></pitch><duration>4</duration><tie type="start"/></note>
      <direction><sound tempo="60"/></direction>
      <note><pitch><step>C</step><octave>5</octave></pitch><duration>2</duration><tie type="stop"/></note>
    </measure>
    <measure number="2">
      <attributes><time><beats>6</beats><beat-type>8</beat-type></time></attributes>
      <note><pitch><step>E</step><alter>-1</alter><octave>5</octave></pitch><duration>3</duration></note>
      <note><chord/><pitch><step>G</step><octave>5</octave></pitch><duration>3</duration></note>
      <note><rest/><duration>3</duration></note>
    </measure>
  </part>
  <part id="P2">
    <measure number="0" implicit="yes"><attributes><divisions>4</divisions></attributes>
      <note><rest/><duration>4</duration></note></measure>
    <measure number="1">
      <note><pitch><step>A</step><octave>2</octave></pitch><duration>12</duration></note>
      <backup><duration>12</duration></backup>
      <note><pitch><step>E</step><octave>3</octave></pitch><duration>4</duration></note>
      <forward><duration>8</duration></forward>
    </measure>
    <measure number="2"><note><pitch><step>A</step><octave>2</octave></pitch><duration>12</duration></note></measure>
  </part>
</score-partwise>
"""


def test_musicxml_pickup_ties_chords_voices_transposition_and_tempo_inside_a_bar(tmp_path):
    path = tmp_path / "s.musicxml"
    path.write_text(MUSICXML)
    score = read_score(path)
    q = score.ticks_per_quarter
    assert score.first_bar_number == 0  # the pickup is bar 0
    assert score.bar_ticks == [0, q, 4 * q, 7 * q]
    glock, marimba = score.parts
    assert glock.program == 9 and marimba.program == 0
    # Written G4 sounds two octaves up; the tied C5 is one note of three beats.
    assert [(n.start_tick, n.end_tick, n.pitch) for n in glock.notes] == [
        (0, q, 91), (q, 4 * q, 96), (4 * q, int(5.5 * q), 99), (4 * q, int(5.5 * q), 103),
    ]
    assert [(n.start_tick, n.pitch) for n in marimba.notes] == [(q, 45), (q, 52), (4 * q, 45)]
    assert [(t.tick, t.us_per_quarter) for t in score.tempos] == [(0, round(60e6 / 90)), (3 * q, 1_000_000)]
    assert [(m.tick, m.numerator, m.denominator) for m in score.meters] == [(0, 3, 4), (4 * q, 6, 8)]

    clock = MusicalClock.from_score(score)
    assert clock.position_to_seconds(1) == pytest.approx(60 / 90)
    # Bar 1 beat 3 is after the tempo change at the 2nd beat of bar 1 (two beats at 90, then one at 60).
    assert clock.position_to_seconds(1, 3) == pytest.approx(60 / 90 + 2 * 60 / 90)
    assert clock.position_to_seconds(2, 4) == pytest.approx(60 / 90 * 3 + 1.0 + 3 * 0.5)  # 6/8: eighth-note beats
    assert clock.position_to_tick(2, 2, 0.5) == Fraction(4 * q + q // 2 + q // 4)


def test_mxl_archive_is_read(tmp_path):
    path = tmp_path / "s.mxl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("META-INF/container.xml", '<container><rootfiles><rootfile full-path="score.xml"/></rootfiles></container>')
        archive.writestr("score.xml", MUSICXML)
    assert read_score(path).part_names() == ["glockenspiel", "marimba"]


def test_bar_outside_the_score_is_an_error(tmp_path):
    path = tmp_path / "s.musicxml"
    path.write_text(MUSICXML)
    clock = MusicalClock.from_score(read_score(path), where="params.yaml: parts.marimba.pan")
    with pytest.raises(DreamreelError, match="bar 9 is outside the piece"):
        clock.position_to_tick(9)


def test_demo_score_has_three_tuned_percussion_parts_tempo_and_meter_changes():
    score = read_score(ROOT / "scores" / "demo.musicxml")
    assert score.part_names() == ["glockenspiel", "vibraphone", "marimba"]
    assert {p.program for p in score.parts} == {9, 11, 12}  # GM glockenspiel, vibraphone, marimba
    assert len({t.us_per_quarter for t in score.tempos}) >= 2
    assert len({(m.numerator, m.denominator) for m in score.meters}) >= 2
    assert 30 <= MusicalClock.from_score(score).duration_s <= 60


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("missing.mid", None, "score file not found"),
        ("garbage.mid", b"not midi at all", "not a readable MIDI file"),
        ("garbage.musicxml", b"<score-partwise><part", "not a readable MusicXML"),
        ("other.xml", b"<html/>", "not a MusicXML score"),
        ("song.mp3", b"ID3", "unsupported score type"),
        ("empty.musicxml", b"<score-partwise><part-list/></score-partwise>", "no parts"),
        ("rests.musicxml", b'<score-partwise><part-list><score-part id="P1"><part-name>A</part-name></score-part></part-list>'
                           b'<part id="P1"><measure number="1"><attributes><divisions>1</divisions></attributes>'
                           b'<note><rest/><duration>4</duration></note></measure></part></score-partwise>', "no notes"),
    ],
)
def test_bad_scores_are_clear_errors(tmp_path, name, content, words):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DreamreelError) as caught:
        read_score(path)
    assert words in str(caught.value) and str(path) in str(caught.value)


def test_midi_without_notes_is_an_error(tmp_path):
    path = write_midi(tmp_path / "silent.mid", {"Vibraphone": []})
    with pytest.raises(DreamreelError, match="no notes"):
        read_score(path)


def test_musescore_file_without_musescore_says_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    path = tmp_path / "piece.mscz"
    path.write_bytes(b"PK")
    with pytest.raises(DreamreelError) as caught:
        read_score(path)
    assert "MuseScore" in str(caught.value) and "MusicXML" in str(caught.value)


def test_musescore_file_is_exported_headless_through_the_cli(tmp_path, monkeypatch, capsys):
    # A stand-in for mscore3 that checks it runs offscreen, then "exports" our MusicXML,
    # whose repeat is told in a notice that names the user's file, not the export.
    fixture = tmp_path / "exported.musicxml"
    fixture.write_text(MUSICXML.replace('<duration>12</duration></note></measure>', '<duration>12</duration></note><barline><repeat direction="backward"/></barline></measure>'))
    fake = tmp_path / "bin" / "mscore3"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\n[ "$QT_QPA_PLATFORM" = offscreen ] || exit 134\n[ "$1" = -o ] && cp {fixture} "$2"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    path = tmp_path / "piece.mscz"
    path.write_bytes(b"PK")
    assert read_score(path).part_names() == ["glockenspiel", "marimba"]
    assert capsys.readouterr().err.startswith(f"dreamreel: notice: {path}: repeats played out")


@pytest.mark.musescore
@pytest.mark.skipif(find_musescore() is None, reason="needs the MuseScore CLI (mscore3)")
def test_real_musescore_round_trip(tmp_path):
    exported = tmp_path / "demo.mscz"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    subprocess.run([find_musescore(), "-o", str(exported), str(ROOT / "scores/demo.musicxml")], env=env, check=True, capture_output=True)
    assert read_score(exported).part_names() == ["glockenspiel", "vibraphone", "marimba"]
