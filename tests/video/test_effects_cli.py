"""scripts/effects.py and the effects section: the lossless pass, its bytes, and bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import compose
import effects
import numpy as np
import params as params_script
import pytest
from conftest import needs_ffmpeg
from dreamreel.core.errors import run_cli
from dreamreel.core.npz import save_npz
from dreamreel.video.sections import EFFECTS, VIDEO
from video_fixtures import asymmetric_frame, section_json, square_video, video_values

pytestmark = needs_ffmpeg

ROOT = Path(__file__).resolve().parents[2]
FRAMES = 30


def decode(path: Path, size: int = 64) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, size, size, 3)


@pytest.fixture
def piece(tmp_path) -> Path:
    """A 1 s square video at 30 fps and its features: onset 1 on frame 10 only, rms a ramp."""
    square_video(tmp_path / "frames.mkv", size=64, frames=FRAMES)
    onset = np.zeros(FRAMES, np.float32)
    onset[10] = 1.0
    save_npz(tmp_path / "features.npz", {"onset": onset, "rms": np.linspace(0, 1, FRAMES, dtype=np.float32),
                                         "bands": np.zeros((FRAMES, 3), np.float32), "fps_num": np.int64(30), "fps_den": np.int64(1)})
    return tmp_path


def run_effects(folder: Path, chain: list, *extra: str, output: str = "effects.mkv") -> int:
    params = section_json(folder / "effects.json", EFFECTS, {"chain": chain})
    return run_cli(effects.main, [str(folder / "frames.mkv"), str(folder / "features.npz"), str(folder / output), "--params", str(params), *extra])


def test_the_effect_lands_on_its_frame_and_the_rest_stay_lossless(piece):
    assert run_effects(piece, [{"effect": "swirl", "by": "onset", "amount": 1.0}]) == 0
    before, after = decode(piece / "frames.mkv"), decode(piece / "effects.mkv")
    assert after.shape == before.shape
    assert [k for k in range(FRAMES) if not np.array_equal(after[k], before[k])] == [10]
    assert np.array_equal(before[3], asymmetric_frame(64, 3))


def test_same_inputs_give_the_same_bytes(piece):
    chain = [{"effect": "rotate", "by": "rms", "amount": 0.5, "release_s": 0.2}, {"effect": "blur", "by": "onset", "amount": 0.02},
             {"effect": "hue", "by": "rms", "amount": 0.4}, {"effect": "shake", "by": "rms", "amount": 0.05}]
    assert run_effects(piece, chain, output="a.mkv") == 0
    assert run_effects(piece, chain, output="b.mkv") == 0
    assert (piece / "a.mkv").read_bytes() == (piece / "b.mkv").read_bytes()


def test_a_picture_composed_from_effects_at_amount_zero_is_byte_identical(piece):
    """Lossless in, the same tags copied: compose cannot tell effects.mkv from frames.mkv."""
    assert run_effects(piece, [{"effect": "zoom", "by": "onset", "amount": 0.0}, {"effect": "flash", "by": "rms", "amount": 0.0}]) == 0
    video = section_json(piece / "video.json", VIDEO, video_values())
    pictures = []
    for source in ("frames.mkv", "effects.mkv"):
        picture = piece / f"{source}.picture.mkv"
        assert run_cli(compose.main, [str(piece / source), str(picture), "--params", str(video), "--filters", str(ROOT / "filters")]) == 0
        pictures.append(picture.read_bytes())
    assert pictures[0] == pictures[1]


def test_features_shorter_than_the_video_fail_in_one_line_and_write_nothing(piece, capsys):
    save_npz(piece / "features.npz", {"onset": np.zeros(5, np.float32), "fps_num": np.int64(30), "fps_den": np.int64(1)})
    assert run_effects(piece, [{"effect": "zoom", "by": "onset", "amount": 0.5}]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("dreamreel: error: ") and "5 frames" in err
    assert sorted(p.name for p in piece.iterdir()) == ["effects.json", "features.npz", "frames.mkv"]


def test_a_beat_signal_without_beats_says_what_to_pass(piece, capsys):
    assert run_effects(piece, [{"effect": "flash", "by": "beat", "amount": 0.5}]) == 2
    assert "--score" in capsys.readouterr().err
    assert not (piece / "effects.mkv").exists()


@pytest.mark.parametrize(
    "entry,field,needles",
    [
        ({"effect": "swril", "by": "onset", "amount": 0.5}, "effects.chain[0].effect", ["unknown effect 'swril'", "zoom, rotate, swirl"]),
        ({"effect": "swirl", "by": "kick", "amount": 0.5}, "effects.chain[0].by", ["unknown signal 'kick'", "band_low", "bar_phase", "constant"]),
        ({"effect": "zoom", "by": "onset", "amount": 9.0}, "effects.chain[0].amount", ["9 is out of range for zoom", "-0.9 to 4"]),
        ({"effect": "blur", "by": "onset"}, "effects.chain[0].amount", ["missing"]),
        ({"effect": "zoom", "by": "onset", "amount": 0.5, "angle_deg": 45}, "effects.chain[0].angle_deg", ["only translate"]),
        ({"effect": "zoom", "by": "onset", "amount": 0.5, "release": 0.3}, "effects.chain[0].release", ["did you mean 'release_s'"]),
    ],
)
def test_bad_effects_fail_the_params_split_in_one_line_and_write_nothing(tmp_path, capsys, entry, field, needles):
    yaml_file = tmp_path / "params.yaml"
    yaml_file.write_text("piece: {name: t, score: t.mid}\neffects:\n  chain:\n    - " + json.dumps(entry) + "\n")
    out = tmp_path / "build" / "params"
    status = run_cli(params_script.main, [str(yaml_file), "--out-dir", f"{out}/", "--makefile", str(out / "params.mk")])
    err = capsys.readouterr().err.strip()
    assert status == 2 and err.count("\n") == 0
    assert err.startswith(f"dreamreel: error: {yaml_file}: {field}: ")
    for needle in needles:
        assert needle in err
    assert not out.exists()


def split(folder: Path, text: str) -> tuple[int, Path]:
    (folder / "t.mid").write_bytes(b"")
    (folder / "params.yaml").write_text("piece: {name: t, score: t.mid}\n" + text)
    out = folder / "build" / "params"
    return run_cli(params_script.main, [str(folder / "params.yaml"), "--out-dir", f"{out}/", "--makefile", str(out / "params.mk")]), out


def test_a_loop_goes_to_the_walk_not_to_compose(tmp_path):
    status, out = split(tmp_path, "video: {loop: true, fade_in_s: 0, fade_out_s: 0}\n")
    assert status == 0
    assert json.loads((out / "model.json").read_text())["loop"] is True
    assert "loop" not in json.loads((out / "video.json").read_text())
    # Without a loop, model.json is what it always was.
    status, out = split(tmp_path, "video: {fade_in_s: 0}\n")
    assert status == 0 and "loop" not in json.loads((out / "model.json").read_text())


def test_a_loop_with_a_fade_fails_the_split_in_one_line(tmp_path, capsys):
    status, out = split(tmp_path, "video: {loop: true, fade_in_s: 0}\n")
    err = capsys.readouterr().err.strip()
    assert status == 2 and err.count("\n") == 0
    assert "video.fade_out_s" in err and "set fade_out_s: 0" in err
    assert not (out / "params.mk").exists()


def test_a_song_gives_its_tracked_beats_and_the_flash_lands_on_them(tmp_path):
    """With --song, beats come from beat tracking: a click every 0.5 s flashes the frames of the clicks."""
    import soundfile

    rate_hz, seconds, frames = 22050, 4.0, 120
    clicks = np.zeros(int(seconds * rate_hz), np.float32)
    click_times_s = np.arange(0.25, seconds, 0.5)
    for time_s in click_times_s:
        start = int(time_s * rate_hz)
        clicks[start : start + 200] = 0.9 * np.hanning(400)[200:]
    soundfile.write(str(tmp_path / "master.wav"), np.stack([clicks, clicks], axis=1), rate_hz)
    square_video(tmp_path / "frames.mkv", size=32, frames=frames)
    save_npz(tmp_path / "features.npz", {"onset": np.zeros(frames, np.float32), "fps_num": np.int64(30), "fps_den": np.int64(1)})
    assert run_effects(tmp_path, [{"effect": "flash", "by": "beat", "amount": 1.0}], "--song", str(tmp_path / "master.wav"), "--table", str(tmp_path / "effects.npz")) == 0
    with np.load(tmp_path / "effects.npz") as table:
        flashed = np.flatnonzero(table["values"][0])
        assert list(table["labels"]) == ["1: flash 1 by beat"]
    assert len(flashed) >= 6
    # Every flash is within a frame of a click (frame k is shown at k/30 s).
    assert all(np.min(np.abs(click_times_s * 30 - k)) <= 1.0 for k in flashed)
    video = decode(tmp_path / "effects.mkv", size=32)
    assert all((video[k] == 255).all() for k in flashed) and not (video[0] == 255).all()
