"""One build folder per piece: switching params files, or naming a song, never mixes two pieces.

Each params file (and each SONG= or SCORE= on top of it) builds into build/<name>-<hash>/.
Switching from piece A to piece B and back rebuilds nothing of A, and no stage of B reads
anything of A. The README's own song command, with SONG in the environment, builds that
song, named and titled after it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile
from build_helpers import make, piece_dir, snapshot, tiny_piece
from conftest import ROOT, needs_ffmpeg, needs_fluidsynth, needs_sox, write_midi

pytestmark = [needs_fluidsynth, needs_sox, needs_ffmpeg]

PIECE_A = """\
piece: {name: alpha, score: tiny.mid, title: Alpha}
stems: {tail_s: 0.2}
features: {fps: 10}
gan: {model: cppn, size_px: 32, segment_s: 1.0}
video: {title: {text: Alpha}}
"""
PIECE_B = """\
piece: {name: beta, score: ../scores/other.mid, title: Beta}
stems: {tail_s: 0.4}
features: {fps: 8}
gan: {model: cppn, size_px: 32, segment_s: 1.0, cppn_seed: 3}
"""


def _commands(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if "/scripts/" in line]


@pytest.fixture
def two_pieces(tmp_path):
    """Piece A: params.yaml beside its score; piece B: elsewhere/other.yaml, its score in scores/."""
    tiny_piece(tmp_path, PIECE_A)
    (tmp_path / "scores").mkdir()
    (tmp_path / "elsewhere").mkdir()
    write_midi(tmp_path / "scores/other.mid", {"Marimba": [(0, 960, 50), (960, 1920, 57)]}, programs={"Marimba": 12})
    (tmp_path / "elsewhere/other.yaml").write_text(PIECE_B)
    return tmp_path


def test_switching_a_to_b_to_a_keeps_both_builds_apart_and_rebuilds_nothing_of_a(two_pieces):
    folder = two_pieces
    make(folder, "gan")
    a_dir = piece_dir(folder)
    a_build = snapshot(folder)

    result = make(folder, "gan", "PARAMS=elsewhere/other.yaml")
    b_dir = piece_dir(folder, "PARAMS=elsewhere/other.yaml")
    assert b_dir != a_dir and b_dir.parent == a_dir.parent
    # No stage of B reads A's params, score or build.
    commands = _commands(result)
    assert commands and all(a_dir.name not in line and "'params.yaml'" not in line and "tiny.mid" not in line for line in commands)
    assert "elsewhere/other.yaml" in commands[0]
    # Relative paths in a params file are relative to its own folder: B's score is scores/other.mid.
    assert "scores/other.mid: 1 parts (marimba)" in result.stderr
    assert (b_dir / "gan/frames.mkv").is_file()

    # Back to A, by the plain command: nothing of A reruns, and A's files are untouched.
    again = make(folder, "gan")
    assert _commands(again) == [] and "Nothing to be done" in again.stdout
    assert snapshot(folder) == a_build

    # make clean still clears every piece.
    make(folder, "clean")
    assert not (folder / "build").exists()


def _tagged_song(path, title: str, seconds: float = 2.0):
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}",
                    "-ac", "2", "-metadata", f"title={title}", str(path)], check=True)
    return path


def test_the_readme_song_line_with_song_in_the_environment_builds_that_song(two_pieces):
    """`SONG=path/to/song.mp3 make audio`, exactly as the README writes it, through the shell."""
    folder = two_pieces
    (folder / "path/to").mkdir(parents=True)
    _tagged_song(folder / "path/to/song.mp3", "Night Drive")
    make(folder, "audio")
    score_build = snapshot(folder)

    result = subprocess.run(["bash", "-c", f"SONG=path/to/song.mp3 make --no-print-directory -f {ROOT}/Makefile SETUP= PY=$PY audio"],
                            cwd=folder, capture_output=True, text=True, env={**os.environ, "PY": sys.executable})
    assert result.returncode == 0, result.stderr
    assert "import_song.py" in result.stdout and "parse_score.py" not in result.stdout
    song_dir = piece_dir(folder, env={"SONG": "path/to/song.mp3"})
    master = soundfile.info(str(song_dir / "mix/master.wav"))
    assert master.duration == pytest.approx(2.0, abs=0.05)
    # The song is its own piece: its name comes from the file, its title from its tag.
    piece = (song_dir / "params/piece.json").read_text()
    assert '"name": "song"' in piece and '"title": "Night Drive"' in piece
    # The drawn title was the piece's title, so it follows the song's.
    assert '"text": "Night Drive"' in (song_dir / "params/video.json").read_text()
    # The score's build was not touched by the song's.
    assert snapshot(folder) == score_build


def test_a_song_name_with_spaces_and_quotes_builds(two_pieces):
    folder = two_pieces
    _tagged_song(folder / "Don't Stop (live).wav", "Live")
    result = make(folder, "audio", "SONG=Don't Stop (live).wav")
    assert "import_song.py" in result.stdout
    assert (piece_dir(folder, "SONG=Don't Stop (live).wav") / "mix/master.wav").is_file()
    assert '"name": "Don-t-Stop-live"' in (piece_dir(folder, "SONG=Don't Stop (live).wav") / "params/piece.json").read_text()


@pytest.mark.parametrize(("variables", "expected"), [
    (["SONG=missing.wav"], "SONG=missing.wav: song file 'missing.wav' not found"),
    (["SCORE=no such.mid"], "SCORE=no such.mid: score file 'no such.mid' not found"),
    (["PARAMS=nope.yaml"], "PARAMS=nope.yaml: parameter file not found"),
])
def test_a_missing_source_gets_our_one_line_not_makes(two_pieces, variables, expected):
    result = make(two_pieces, "audio", *variables, check=False)
    assert result.returncode == 2
    # Make's own "make: *** [...] Error 2" (make[1] under make test) follows every failed recipe.
    errors = [line for line in result.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\* ", line)]
    assert errors == [f"dreamreel: error: {errors[0].split('error: ', 1)[1]}"] and expected in errors[0]
    assert "No rule to make target" not in result.stderr and "No such file" not in result.stderr


def test_a_missing_soundfont_gets_our_one_line(two_pieces):
    (two_pieces / "params.yaml").write_text(PIECE_A.replace("stems: {tail_s: 0.2}", "stems: {tail_s: 0.2, soundfont: fonts/gone.sf2}"))
    result = make(two_pieces, "audio", check=False)
    assert result.returncode == 2
    assert "params.yaml: stems.soundfont: soundfont 'fonts/gone.sf2' does not exist" in result.stderr
    assert "No rule to make target" not in result.stderr


def test_messages_name_the_params_file_the_user_gave(two_pieces):
    other = two_pieces / "elsewhere/other.yaml"
    other.write_text(PIECE_B + "parts: {vibes: {gain_db: 1}}\n")
    result = make(two_pieces, "audio", "PARAMS=elsewhere/other.yaml", check=False)
    assert result.returncode == 2
    assert "dreamreel: error: elsewhere/other.yaml: parts.vibes:" in result.stderr
    assert "params.yaml" not in result.stderr


def test_a_song_given_in_the_params_file_keeps_the_params_name_and_title(tmp_path):
    _tagged_song(tmp_path / "take1.wav", "Take One")
    (tmp_path / "params.yaml").write_text("piece: {name: mine, song: take1.wav, title: My Title}\n")
    make(tmp_path, "audio")
    piece = (piece_dir(tmp_path) / "params/piece.json").read_text()
    assert '"name": "mine"' in piece and '"title": "My Title"' in piece
    assert np.isfinite(soundfile.read(str(piece_dir(tmp_path) / "mix/master.wav"))[0]).all()


def test_a_failing_song_leaves_the_score_build_and_its_video_alone(two_pieces):
    folder = two_pieces
    make(folder, "audio")
    score_build = snapshot(folder)
    soundfile.write(str(folder / "hush.wav"), np.zeros((24000, 2), dtype=np.float32), 48000)  # 0.5 s of silence
    result = make(folder, "audio", env={"SONG": "hush.wav"}, check=False)
    assert result.returncode == 2 and "hush.wav: the song is silent" in result.stderr
    assert snapshot(folder) == score_build
    assert "Nothing to be done" in make(folder, "audio").stdout
