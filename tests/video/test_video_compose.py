"""scripts/compose.py: one pass to 1080p, exact frame rates, mirror symmetry, boomerang, errors."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import compose
import numpy as np
import pytest
from dreamreel.core.errors import run_cli
from dreamreel.video.sections import VIDEO
from video_fixtures import decode_luma, section_json, square_video, video_values

ROOT = Path(__file__).resolve().parents[2]
FILTERS = ROOT / "filters"


def probe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-print_format", "json", "-show_streams", "-show_format", str(path)], capture_output=True, check=True, text=True).stdout
    return json.loads(out)


def run_compose(tmp_path: Path, frames: Path, **values) -> tuple[int, Path]:
    params = section_json(tmp_path / "video.json", VIDEO, video_values(**values))
    picture = tmp_path / "video" / "picture.mkv"
    status = run_cli(compose.main, [str(frames), str(picture), "--params", str(params), "--filters", str(FILTERS)])
    return status, picture


@pytest.mark.parametrize("fps", [Fraction(24), Fraction(30), Fraction(30000, 1001)])
def test_picture_is_1080p_yuv420p_at_the_exact_rate(tmp_path, fps):
    frames = square_video(tmp_path / "frames.mkv", size=64, fps=fps, frames=int(fps) // 2)
    status, picture = run_compose(tmp_path, frames, fade_in_s=0.1, fade_out_s=0.1, title={"text": "Dreamreel: it's [1/2]", "start_s": 0.0, "end_s": 0.3, "fade_s": 0.1})
    assert status == 0
    info = probe(picture)
    (video,) = info["streams"]
    assert (video["width"], video["height"], video["pix_fmt"], video["codec_name"]) == (1920, 1080, "yuv420p", "h264")
    assert Fraction(video["r_frame_rate"]) == fps
    assert int(video["nb_read_packets"]) == int(fps) // 2
    assert abs(float(info["format"]["duration"]) - (int(fps) // 2) / fps) < 1 / fps
    graph = (picture.parent / "graph.txt").read_text()
    assert "drawtext" in graph and "mirror_top" in graph
    assert sorted(p.name for p in picture.parent.iterdir()) == ["graph.txt", "picture.mkv"]


def test_model_tag_is_carried_into_the_picture(tmp_path):
    frames = square_video(tmp_path / "frames.mkv", size=64, frames=4, model="biggan-deep-128")
    status, picture = run_compose(tmp_path, frames)
    assert status == 0
    tags = {k.lower(): v for k, v in probe(picture)["format"]["tags"].items()}
    assert tags["model"] == "biggan-deep-128"


def test_ten_bit_picture(tmp_path):
    frames = square_video(tmp_path / "frames.mkv", size=64, frames=3)
    status, picture = run_compose(tmp_path, frames, ten_bit=True, title={"text": "ten", "start_s": 0.0, "end_s": 0.1, "fade_s": 0.0})
    assert status == 0
    assert probe(picture)["streams"][0]["pix_fmt"] == "yuv420p10le"


def test_mirror_is_left_right_symmetric_and_strips_are_reflections(tmp_path):
    frames = square_video(tmp_path / "frames.mkv", size=96, frames=2)
    status, picture = run_compose(tmp_path, frames, crf=0)  # lossless x264: symmetry is exact
    assert status == 0
    luma = decode_luma(picture)[1].astype(int)
    left, right = luma[:, :960], luma[:, 960:]
    assert np.array_equal(left, right[:, ::-1])
    # The source is not symmetric itself, so the test above is not trivially true.
    assert np.abs(left - left[:, ::-1]).mean() > 20
    # Strips of 60 rows reflect the square's top and bottom rows.
    assert np.array_equal(luma[:60], luma[60:120][::-1])
    assert np.array_equal(luma[1020:], luma[960:1020][::-1])
    # The square keeps its orientation: the input ramp rises left to right, so does the left half.
    assert left[540, 900] > left[540, 60] + 25


def test_boomerang_plays_the_ending_backwards(tmp_path):
    frames = square_video(tmp_path / "frames.mkv", size=64, frames=20)
    status, picture = run_compose(tmp_path, frames, graph="fit-1080p", crf=0, boomerang_s=5 / 30)
    assert status == 0
    luma = decode_luma(picture)
    assert len(luma) == 20
    keep, back = 15, 5
    # out[keep + j] is in[keep - 1 - j]: the ending mirrors the frames before the cut.
    for j in range(back):
        assert np.array_equal(luma[keep + j], luma[keep - 1 - j])
    assert not np.array_equal(luma[0], luma[keep - 1])


def assert_failed_cleanly(status: int, capsys, picture: Path, *needles: str) -> None:
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err
    assert not picture.exists()
    assert not (picture.parent / "graph.txt").exists()
    leftovers = list(picture.parent.glob(".*")) if picture.parent.exists() else []
    assert leftovers == []


def test_missing_frames_video(tmp_path, capsys):
    status, picture = run_compose(tmp_path, tmp_path / "gan" / "frames.mkv")
    assert_failed_cleanly(status, capsys, picture, "frames.mkv", "not found")


@pytest.mark.parametrize(
    "values,needle",
    [
        ({"graph": "nope"}, "video.graph"),
        ({"title": {"text": "t", "font": "media/Missing.ttf", "start_s": 0.0, "end_s": 0.1, "fade_s": 0.0}}, "video.title.font"),
        ({"title": {"text": "t", "start_s": 0.0, "end_s": 9.0}}, "video.title"),
        ({"fade_out_s": 5.0}, "video.fade_out_s"),
    ],
)
def test_bad_params_exit_2_and_write_nothing(tmp_path, capsys, values, needle):
    frames = square_video(tmp_path / "frames.mkv", size=64, frames=3)
    status, picture = run_compose(tmp_path, frames, **values)
    assert_failed_cleanly(status, capsys, picture, needle)


def test_odd_size_for_mirror_is_rejected(tmp_path, capsys):
    frames = square_video(tmp_path / "frames.mkv", size=96, height=64, frames=3)
    status, picture = run_compose(tmp_path, frames)
    assert_failed_cleanly(status, capsys, picture, "video.graph", "square", "96x64")


def test_odd_square_size_is_handled(tmp_path):
    frames = square_video(tmp_path / "frames.mkv", size=101, frames=2)
    status, picture = run_compose(tmp_path, frames)
    assert status == 0
    assert probe(picture)["streams"][0]["width"] == 1920


def test_ffmpeg_failure_is_one_line_with_its_message(tmp_path, capsys):
    import shutil

    filters = tmp_path / "filters"
    shutil.copytree(FILTERS, filters)
    (filters / "broken.txt").write_text("[$src]nosuchfilter[$dst]\n")
    frames = square_video(tmp_path / "frames.mkv", size=64, frames=3)
    params = section_json(tmp_path / "video.json", VIDEO, video_values(graph="broken"))
    picture = tmp_path / "video" / "picture.mkv"
    status = run_cli(compose.main, [str(frames), str(picture), "--params", str(params), "--filters", str(filters)])
    assert_failed_cleanly(status, capsys, picture, "ffmpeg failed", "nosuchfilter")


@pytest.mark.parametrize(
    "values, key",
    [
        ({"title": {"text": "t", "colour": "notacolour", "start_s": 0.0, "end_s": 0.1, "fade_s": 0.0}}, "video.title.colour"),
        ({"title": {"text": "t", "border_colour": "blak@0.5", "start_s": 0.0, "end_s": 0.1, "fade_s": 0.0}}, "video.title.border_colour"),
        ({"pad_colour": "random", "graph": "fit-1080p"}, "video.pad_colour"),
    ],
)
def test_a_colour_ffmpeg_does_not_know_names_its_key_before_ffmpeg_runs(tmp_path, capsys, values, key):
    """It used to be ffmpeg's own 600-character error, naming no key."""
    frames = square_video(tmp_path / "frames.mkv", size=64, frames=3)
    status, picture = run_compose(tmp_path, frames, **values)
    assert_failed_cleanly(status, capsys, picture, f"params.yaml: {key}: ")


def test_a_title_font_that_is_not_a_font_is_an_error(tmp_path, capsys, monkeypatch):
    """A text file named Title.ttf used to give the title in a fallback font, silently."""
    media = tmp_path / "media"
    media.mkdir()
    (media / "Title.ttf").write_text("hello, I am not a font\n")
    monkeypatch.chdir(tmp_path)
    frames = square_video(tmp_path / "frames.mkv", size=64, frames=3)
    status, picture = run_compose(tmp_path, frames, title={"text": "t", "font": "media/Title.ttf", "start_s": 0.0, "end_s": 0.1, "fade_s": 0.0})
    assert_failed_cleanly(status, capsys, picture, "params.yaml: video.title.font: 'media/Title.ttf' is not a font file (it starts with b'hell')", "TrueType")


def test_not_a_video(tmp_path, capsys):
    frames = tmp_path / "frames.mkv"
    frames.write_text("not a video")
    status, picture = run_compose(tmp_path, frames)
    assert_failed_cleanly(status, capsys, picture, "frames.mkv")


def test_same_inputs_give_the_same_bytes(tmp_path):
    frames = square_video(tmp_path / "frames.mkv", size=64, frames=3)
    first = tmp_path / "a"
    second = tmp_path / "b"
    first.mkdir()
    second.mkdir()
    status_a, picture_a = run_compose(first, frames)
    status_b, picture_b = run_compose(second, frames)
    assert status_a == status_b == 0
    assert picture_a.read_bytes() == picture_b.read_bytes()


def test_title_font_from_a_file(tmp_path, monkeypatch):
    import shutil

    from dreamreel.video.graph import resolve_font

    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(resolve_font("DejaVu Sans"), media / "Title.ttf")
    monkeypatch.chdir(tmp_path)  # font paths in params are relative to where make runs
    frames = square_video(tmp_path / "frames.mkv", size=64, frames=3)
    status, picture = run_compose(tmp_path, frames, title={"text": "From a file", "font": "media/Title.ttf", "start_s": 0.0, "end_s": 0.1, "fade_s": 0.0})
    assert status == 0
    assert str(media / "Title.ttf") in (picture.parent / "graph.txt").read_text()


def test_messages_name_the_params_file_given_by_params_name(tmp_path, capsys):
    frames = square_video(tmp_path / "frames.mkv", size=64, frames=3)
    params = section_json(tmp_path / "video.json", VIDEO, video_values(title={"text": "t", "colour": "notacolour", "start_s": 0.0, "end_s": 0.1, "fade_s": 0.0}))
    picture = tmp_path / "video" / "picture.mkv"
    status = run_cli(compose.main, [str(frames), str(picture), "--params", str(params), "--filters", str(FILTERS), "--params-name", "pieces/night.yaml"])
    assert_failed_cleanly(status, capsys, picture, "dreamreel: error: pieces/night.yaml: video.title.colour: ffmpeg knows no colour 'notacolour'")
