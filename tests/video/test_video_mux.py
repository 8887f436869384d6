"""scripts/mux.py: stream copy, 48 kHz stereo audio cut to the picture, metadata, clean failures."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import compose
import mux
import pytest
from dreamreel.core.errors import run_cli
from dreamreel.schema import PIECE
from dreamreel.video.sections import MUX, VIDEO
from video_fixtures import section_json, sine_wav, square_video, video_values

ROOT = Path(__file__).resolve().parents[2]


def probe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-print_format", "json", "-show_streams", "-show_format", str(path)], capture_output=True, check=True, text=True).stdout
    return json.loads(out)


def make_picture(folder: Path, fps: Fraction, frames: int, model: str | None = "cppn") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    source = square_video(folder / "frames.mkv", size=64, fps=fps, frames=frames, model=model)
    params = section_json(folder / "video.json", VIDEO, video_values())
    picture = folder / "picture.mkv"
    assert run_cli(compose.main, [str(source), str(picture), "--params", str(params), "--filters", str(ROOT / "filters")]) == 0
    return picture


@pytest.fixture(scope="module")
def picture_30(tmp_path_factory) -> Path:
    """One 15-frame 30 fps picture shared by the tests that only need some picture."""
    return make_picture(tmp_path_factory.mktemp("picture30"), Fraction(30), 15)


@pytest.fixture(scope="module")
def untagged_picture(tmp_path_factory) -> Path:
    return make_picture(tmp_path_factory.mktemp("untagged"), Fraction(30), 15, model=None)


def run_mux(tmp_path: Path, picture: Path, audio: Path, *extra: str) -> tuple[int, Path, Path]:
    params = section_json(tmp_path / "mux.json", MUX, {})
    piece = section_json(tmp_path / "piece.json", PIECE, {"name": "demo", "title": "Night Garden"})
    mp4, mkv = tmp_path / "out" / "demo.mp4", tmp_path / "out" / "demo.mkv"
    argv = [str(picture), str(audio), "--mp4", str(mp4), "--mkv", str(mkv), "--params", str(params), "--piece", str(piece), "--hash", str(params), str(piece), *extra]
    return run_cli(mux.main, argv), mp4, mkv


@pytest.mark.parametrize("fps", [Fraction(24), Fraction(30), Fraction(30000, 1001)])
def test_mp4_and_mkv_have_exact_rate_and_equal_durations(tmp_path, fps):
    frames = 20
    picture = make_picture(tmp_path / "video", fps, frames)
    # The music is a little shorter than the picture (ceil(duration x fps) frames).
    seconds = float((frames - 0.4) / fps)
    status, mp4, mkv = run_mux(tmp_path, picture, sine_wav(tmp_path / "master.wav", seconds=seconds))
    assert status == 0
    frame_s = float(1 / fps)
    for path, audio_codec in ((mp4, "aac"), (mkv, "flac")):
        info = probe(path)
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
        assert (video["codec_name"], video["width"], video["height"], video["pix_fmt"]) == ("h264", 1920, 1080, "yuv420p")
        assert Fraction(video["r_frame_rate"]) == fps
        assert int(video["nb_read_packets"]) == frames
        assert (audio["codec_name"], int(audio["sample_rate"]), audio["channels"]) == (audio_codec, 48000, 2)
        picture_s = frames / fps
        audio_s = float(audio.get("duration") or info["format"]["duration"])
        assert abs(audio_s - float(picture_s)) < frame_s
        assert abs(float(info["format"]["duration"]) - float(picture_s)) < frame_s
        tags = {k.lower(): v for k, v in info["format"]["tags"].items()}
        assert tags["title"] == "Night Garden"
        assert tags["model"] == "cppn"
        assert len(tags["dreamreel_params"]) == 16


def test_mp4_is_faststart_and_audio_320k(tmp_path, picture_30):
    status, mp4, _ = run_mux(tmp_path, picture_30, sine_wav(tmp_path / "master.wav", seconds=0.49))
    assert status == 0
    data = mp4.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")
    audio = next(s for s in probe(mp4)["streams"] if s["codec_type"] == "audio")
    assert 200_000 < int(audio["bit_rate"]) <= 330_000  # 320k requested; a sine needs less


def test_picture_is_stream_copied(tmp_path):
    picture = make_picture(tmp_path / "video", Fraction(24), 12)
    status, _, mkv = run_mux(tmp_path, picture, sine_wav(tmp_path / "master.wav", seconds=0.5))
    assert status == 0

    def packets(path: Path) -> list[str]:
        return subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=size", "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout.split()

    assert packets(mkv) == packets(picture)


def test_model_argument_overrides_the_tag(tmp_path, untagged_picture):
    status, mp4, _ = run_mux(tmp_path, untagged_picture, sine_wav(tmp_path / "master.wav", seconds=0.5), "--model", "stylegan")
    assert status == 0
    assert probe(mp4)["format"]["tags"]["model"] == "stylegan"


def assert_failed_cleanly(status, capsys, *paths: Path, needles=()):
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err
    for path in paths:
        assert not path.exists()
        assert list(path.parent.glob(f".{path.stem}.*")) == []


def test_stale_picture_is_an_error(tmp_path, capsys, picture_30):
    picture = picture_30
    status, mp4, mkv = run_mux(tmp_path, picture, sine_wav(tmp_path / "master.wav", seconds=2.0))
    assert_failed_cleanly(status, capsys, mp4, mkv, needles=("master.wav", "stale"))


def test_mono_or_44k_master_is_an_error(tmp_path, capsys, picture_30):
    picture = picture_30
    status, mp4, mkv = run_mux(tmp_path, picture, sine_wav(tmp_path / "master.wav", seconds=0.5, channels=1))
    assert_failed_cleanly(status, capsys, mp4, mkv, needles=("48 kHz stereo",))
    status, mp4, mkv = run_mux(tmp_path, picture, sine_wav(tmp_path / "master.wav", seconds=0.5, rate_hz=44100))
    assert_failed_cleanly(status, capsys, mp4, mkv, needles=("44100 Hz",))


def test_missing_model_tag_is_an_error(tmp_path, capsys, untagged_picture):
    status, mp4, mkv = run_mux(tmp_path, untagged_picture, sine_wav(tmp_path / "master.wav", seconds=0.5))
    assert_failed_cleanly(status, capsys, mp4, mkv, needles=("picture.mkv", "--model"))


def test_missing_audio_is_an_error(tmp_path, capsys, picture_30):
    picture = picture_30
    status, mp4, mkv = run_mux(tmp_path, picture, tmp_path / "mix" / "master.wav")
    assert_failed_cleanly(status, capsys, mp4, mkv, needles=("master.wav", "not found"))


def info(frames: int, fps: Fraction):
    from dreamreel.core.ffmpeg_tools import VideoInfo

    return VideoInfo("picture.mkv", 1920, 1080, "yuv420p", "h264", fps, float(frames / fps), frames)


def test_plan_pads_the_audio_to_the_exact_picture_length():
    from dreamreel.video.mux import plan

    # 30 frames at 30000/1001 fps last 1.001 s: exactly 48048 samples at 48 kHz.
    done = plan(info(30, Fraction(30000, 1001)), "master.wav", 1.0, sample_rate_hz=48000)
    assert done.target_samples == 48048
    assert done.pad_samples == 48


def test_plan_rejects_audio_more_than_a_frame_away():
    from dreamreel.core.errors import DreamreelError
    from dreamreel.video.mux import plan

    with pytest.raises(DreamreelError, match="more than one frame"):
        plan(info(24, Fraction(24)), "master.wav", 1.0 + 1.5 / 24, sample_rate_hz=48000)
    with pytest.raises(DreamreelError, match="stale"):
        plan(info(24, Fraction(24)), "master.wav", 1.0 - 1.5 / 24, sample_rate_hz=48000)
