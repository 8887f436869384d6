"""The soundfont check: only a readable, complete SoundFont 2 file reaches FluidSynth."""

from __future__ import annotations

import json
from pathlib import Path

import parse_score
import pytest
import render_stems
from conftest import TINY_PARTS, soundfont, write_midi
from dreamreel.audio.soundfont import check_soundfont
from dreamreel.core.errors import DreamreelError, run_cli


def riff(form: bytes, body: bytes = b"LIST\x00\x00\x00\x00", *, promised: int | None = None) -> bytes:
    """A RIFF file of ``form`` type whose size field says ``promised`` bytes (default: the truth)."""
    size = len(form) + len(body) if promised is None else promised
    return b"RIFF" + size.to_bytes(4, "little") + form + body


@pytest.mark.parametrize("content, words", [
    (b"this is a soundfont, honest\n", "not a SoundFont 2 file (a file starting with b'this is "),
    (b"", "an empty file"),
    (riff(b"DLS "), "RIFF file of type b'DLS '"),
    (riff(b"WAVE"), "RIFF file of type b'WAVE'"),
    (riff(b"sfbk", promised=1_000_000), "cut off (20 bytes of the 1000008"),
])
def test_files_that_are_not_a_whole_sf2_are_refused(tmp_path, content, words):
    path = tmp_path / "font.sf2"
    path.write_bytes(content)
    with pytest.raises(DreamreelError, match="stems.soundfont") as caught:
        check_soundfont(path)
    assert words in str(caught.value) and str(path) in str(caught.value)


def test_a_whole_sf2_header_passes(tmp_path):
    path = tmp_path / "font.sf2"
    path.write_bytes(riff(b"sfbk"))
    assert check_soundfont(path) == path


def test_a_folder_or_a_missing_file_is_named(tmp_path):
    with pytest.raises(DreamreelError, match="is a folder"):
        check_soundfont(tmp_path)
    with pytest.raises(DreamreelError, match="soundfont not found.*make setup"):
        check_soundfont(tmp_path / "nope.sf2")


def test_an_unreadable_soundfont_is_named(tmp_path, monkeypatch):
    path = tmp_path / "font.sf2"
    path.write_bytes(riff(b"sfbk"))

    def refuse(self, *args, **kwargs):
        # What open() raises on a file without read permission (chmod 0 does not stop root).
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(DreamreelError, match=r"cannot be read \(Permission denied\) — make it readable"):
        check_soundfont(path)


@pytest.mark.skipif(soundfont() is None, reason="needs a GM soundfont (make setup)")
def test_the_installed_soundfont_passes():
    assert check_soundfont(soundfont()) == soundfont()


def test_render_stems_refuses_a_text_file_named_sf2_before_rendering(tmp_path, capsys):
    score_json = tmp_path / "score.json"
    assert run_cli(parse_score.main, [str(write_midi(tmp_path / "tiny.mid", TINY_PARTS)), str(score_json)]) == 0
    capsys.readouterr()
    fake = tmp_path / "font.sf2"
    fake.write_text("not a soundfont\n")
    params = tmp_path / "stems.json"
    params.write_text(json.dumps({"soundfont": str(fake), "synth_gain": 0.5, "tail_s": 0.5}))
    assert run_cli(render_stems.main, [str(score_json), "--params", str(params), "--out-dir", str(tmp_path / "stems")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dreamreel: error: params.yaml: stems.soundfont (") and "not a SoundFont 2 file" in lines[0]
    assert "Traceback" not in "\n".join(lines) and not (tmp_path / "stems").exists()
