"""SONG= through the real Makefile: any format ffmpeg decodes, a non-ASCII file name, no rework."""

from __future__ import annotations

import subprocess

import soundfile
from build_helpers import make, piece_dir
from conftest import needs_ffmpeg

pytestmark = [needs_ffmpeg]


def test_an_aac_song_with_a_non_ascii_name_becomes_the_master_once(tmp_path):
    (tmp_path / "params.yaml").write_text("piece: {name: tiny, score: tiny.mid}\n")  # tiny.mid is never read: SONG= replaces it
    song = "été-日本.m4a"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=1", "-c:a", "aac", str(tmp_path / song)], check=True)
    result = make(tmp_path, "audio", f"SONG={song}")
    assert "import_song.py" in result.stdout
    info = soundfile.info(str(piece_dir(tmp_path, f"SONG={song}") / "mix/master.wav"))
    assert (info.samplerate, info.channels, info.frames) == (48000, 2, 48000)
    assert "Nothing to be done" in make(tmp_path, "audio", f"SONG={song}").stdout
