"""The build graph: a tiny piece built with the real Makefile in a temporary folder.

A second make does nothing, editing one part's gain reruns only that part and the mix,
touching a stage's script reruns that stage, and bad input stops make with one clear line
without destroying finished work.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile
from build_helpers import changed, make, piece_dir, snapshot, tiny_piece
from conftest import ROOT, needs_fluidsynth, needs_sox
from musicxml_helpers import NON_ASCII_NAMES, note, write_musicxml

pytestmark = [needs_fluidsynth, needs_sox]

PARAMS = """\
piece: {name: tiny, score: tiny.mid}
stems: {tail_s: 0.5}
parts:
  vibraphone: {gain_db: -2}
  marimba: {gain_db: 0}
"""


@pytest.fixture
def piece(tmp_path) -> Path:
    tiny_piece(tmp_path, PARAMS)
    make(tmp_path, "audio")
    return tmp_path


def test_build_makes_the_master_and_a_second_make_does_nothing(piece):
    info = soundfile.info(str(piece_dir(piece) / "mix/master.wav"))
    assert (info.samplerate, info.channels) == (48000, 2)
    assert make(piece, "-q", "audio", check=False).returncode == 0
    assert "Nothing to be done" in make(piece, "audio").stdout


def test_editing_one_part_gain_reruns_only_that_part_and_the_mix(piece):
    before = snapshot(piece)
    (piece / "params.yaml").write_text(PARAMS.replace("marimba: {gain_db: 0}", "marimba: {gain_db: -3}"))
    make(piece, "audio")
    rebuilt = {name for name in changed(before, snapshot(piece)) if name.endswith(".wav")}
    assert rebuilt == {"fx/marimba.dry.wav", "fx/marimba.wet.wav", "mix/master.wav"}
    assert make(piece, "-q", "audio", check=False).returncode == 0


def test_editing_the_mix_reruns_only_the_mix(piece):
    before = snapshot(piece)
    (piece / "params.yaml").write_text(PARAMS + "mix: {loudness_lufs: -16}\n")
    make(piece, "audio")
    assert {n for n in changed(before, snapshot(piece)) if n.endswith(".wav")} == {"mix/master.wav"}


def test_touching_a_stage_script_reruns_that_stage_and_what_follows(piece):
    plan = make(piece, "-n", "-W", str(ROOT / "scripts/process_stem.py"), "audio").stdout
    assert plan.count("scripts/process_stem.py") == 2 and "scripts/mix.py" in plan
    assert "scripts/render_stems.py" not in plan and "scripts/parse_score.py" not in plan
    plan = make(piece, "-n", "-W", str(ROOT / "scripts/dreamreel/audio/loudness.py"), "audio").stdout
    assert "scripts/mix.py" in plan and "scripts/process_stem.py" not in plan  # only the mix imports loudness


def test_bad_params_stop_make_with_one_line_and_keep_the_finished_master(piece):
    master = piece_dir(piece) / "mix/master.wav"
    before = master.stat().st_mtime_ns
    (piece / "params.yaml").write_text(PARAMS.replace("gain_db: -2", 'gain_db: "loud"'))
    result = make(piece, "audio", check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("dreamreel: error:")]
    assert len(errors) == 1 and "parts.vibraphone.gain_db" in errors[0] and "Traceback" not in result.stderr
    assert master.stat().st_mtime_ns == before


def test_a_soundfont_that_is_not_an_sf2_stops_make_with_one_line_and_keeps_the_master(piece):
    master = piece_dir(piece) / "mix/master.wav"
    before = master.stat().st_mtime_ns
    (piece / "fake.sf2").write_text("not a soundfont\n")
    (piece / "params.yaml").write_text(PARAMS.replace("stems: {tail_s: 0.5}", "stems: {tail_s: 0.5, soundfont: fake.sf2}"))
    result = make(piece, "audio", check=False)
    errors = [line for line in result.stderr.splitlines() if line.startswith("dreamreel: error:")]
    assert result.returncode != 0 and len(errors) == 1 and "Traceback" not in result.stderr
    assert "stems.soundfont (fake.sf2)" in errors[0] and "not a SoundFont 2 file" in errors[0]
    assert master.stat().st_mtime_ns == before


def test_unknown_part_name_names_the_score_parts(piece):
    (piece / "params.yaml").write_text(PARAMS + "  xylophone: {gain_db: 1}\n")
    result = make(piece, "audio", check=False)
    assert result.returncode != 0
    assert "parts.xylophone" in result.stderr and "vibraphone, marimba" in result.stderr


def test_missing_score_is_a_clear_error(tmp_path):
    (tmp_path / "params.yaml").write_text(PARAMS)
    result = make(tmp_path, "audio", check=False)
    assert result.returncode != 0 and "tiny.mid" in result.stderr


def test_song_replaces_the_score_in_a_build_folder_of_its_own(piece):
    song = piece / "song.wav"
    t = np.arange(48000) / 48000
    soundfile.write(str(song), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 22050)
    score_build = snapshot(piece)
    result = make(piece, "audio", "SONG=song.wav")
    assert "import_song.py" in result.stdout and "render_stems.py" not in result.stdout
    song_master = piece_dir(piece, "SONG=song.wav") / "mix/master.wav"
    assert soundfile.info(str(song_master)).frames == pytest.approx(48000 * 48000 / 22050, abs=2)
    # Back to the score: its build is untouched and still up to date.
    assert snapshot(piece) == score_build
    assert "Nothing to be done" in make(piece, "audio").stdout


def test_bad_pan_automation_stops_make_before_any_audio_is_rendered(tmp_path):
    tiny_piece(tmp_path, PARAMS.replace("vibraphone: {gain_db: -2}", "vibraphone: {pan: [{from: 1, to: 7, curve: orbit, azimuth_deg: 0}]}"))
    result = make(tmp_path, "audio", check=False)
    assert result.returncode != 0
    assert "parts.vibraphone.pan" in result.stderr and "bar 7" in result.stderr
    assert "render_stems.py" not in result.stdout and not list(tmp_path.glob("build/*/stems"))


def test_a_sofa_file_is_a_prerequisite_of_its_part(piece):
    from pan_helpers import write_sofa

    (piece / "media").mkdir()
    sofa = write_sofa(piece / "media" / "room.sofa")
    pan = "marimba: {pan: {mode: sofa, sofa: media/room.sofa, keyframes: [{from: 1, to: end, curve: linear, azimuth_deg: [-90, 90]}]}}"
    (piece / "params.yaml").write_text(PARAMS.replace("marimba: {gain_db: 0}", pan))
    make(piece, "audio")
    assert make(piece, "-q", "audio", check=False).returncode == 0

    # New measurements under the same name reprocess that part and the mix, nothing else.
    before = snapshot(piece)
    later = sofa.stat().st_mtime + 10
    os.utime(sofa, (later, later))
    make(piece, "audio")
    rebuilt = {name for name in changed(before, snapshot(piece)) if name.endswith(".wav")}
    assert rebuilt == {"fx/marimba.dry.wav", "fx/marimba.wet.wav", "mix/master.wav"}

    # Once the SOFA file is gone, the next change that reprocesses the part stops make with
    # one line naming the key, and the finished master stays. (While nothing needs the file,
    # the build is up to date.) Both ways: new stems, and a new pan for the part.
    sofa.unlink()
    master = (piece_dir(piece) / "mix/master.wav").stat().st_mtime_ns
    with_sofa = PARAMS.replace("marimba: {gain_db: 0}", pan)
    for edited in (with_sofa.replace("tail_s: 0.5", "tail_s: 0.6"), with_sofa.replace("{mode:", "{smoothing_ms: 8, mode:")):
        (piece / "params.yaml").write_text(edited)
        result = make(piece, "audio", check=False)
        assert result.returncode != 0
        errors = [line for line in result.stderr.splitlines() if line.startswith("dreamreel: error:")]
        assert len(errors) == 1 and "parts.marimba.pan.sofa" in errors[0] and "room.sofa" in errors[0]
        assert (piece_dir(piece) / "mix/master.wav").stat().st_mtime_ns == master


WORLD_PARAMS = """\
piece: {name: world, score: world.musicxml}
stems: {tail_s: 0.2}
parts:
  Гитара: {gain_db: -2}
  flute-a-bec: {gain_db: 0}
  笛子: {pan: [{from: 1, to: 2, curve: linear, azimuth_deg: [-90, 90]}]}
"""


def test_non_ascii_part_names_build_end_to_end_and_take_params_by_label_or_name(tmp_path):
    write_musicxml(tmp_path / "world.musicxml", {name: [note("C", 5, 2) + note("G", 4, 2)] for name in NON_ASCII_NAMES})
    (tmp_path / "params.yaml").write_text(WORLD_PARAMS, encoding="utf-8")
    make(tmp_path, "audio")
    names = ["flute-a-bec", "гитара", "笛子"]
    assert sorted(p.name for p in (piece_dir(tmp_path) / "stems").iterdir()) == sorted(f"{n}.wav" for n in names)
    assert {p.name for p in (piece_dir(tmp_path) / "fx").iterdir()} == {f"{n}.{bus}.wav" for n in names for bus in ("dry", "wet")}
    assert make(tmp_path, "-q", "audio", check=False).returncode == 0

    # Params given under the label reach the part: editing them reruns that part alone.
    before = snapshot(tmp_path)
    (tmp_path / "params.yaml").write_text(WORLD_PARAMS.replace("Гитара: {gain_db: -2}", "Гитара: {gain_db: -5}"), encoding="utf-8")
    make(tmp_path, "audio")
    rebuilt = {name for name in changed(before, snapshot(tmp_path)) if name.endswith(".wav")}
    assert rebuilt == {"fx/гитара.dry.wav", "fx/гитара.wet.wav", "mix/master.wav"}

    # The label and the name of one part at once is a mistake, said in one line.
    (tmp_path / "params.yaml").write_text(WORLD_PARAMS + "  гитара: {gain_db: 1}\n", encoding="utf-8")
    result = make(tmp_path, "audio", check=False)
    errors = [line for line in result.stderr.splitlines() if line.startswith("dreamreel: error:")]
    assert result.returncode != 0 and len(errors) == 1 and "parts.гитара" in errors[0] and "parts.Гитара" in errors[0]
