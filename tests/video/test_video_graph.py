"""Filter-graph templates: geometry for any input size, validation, escaping, ffmpeg detection."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
from dreamreel.core import ffmpeg_tools
from dreamreel.core.errors import DreamreelError
from dreamreel.core.params import validate_section
from dreamreel.video import graph as video_graph
from dreamreel.video.graph import InputShape, geometry, render
from dreamreel.video.sections import VIDEO

ROOT = Path(__file__).resolve().parents[2]
FILTERS = ROOT / "filters"
SIZES = (64, 96, 100, 101, 128, 512)


def params(**values) -> dict:
    """Video params with the fades off unless a test sets them (defaults need a long video)."""
    return validate_section("test", VIDEO, {"fade_in_s": 0.0, "fade_out_s": 0.0, **values})


def shape(size: int = 64, *, height: int | None = None, fps: Fraction = Fraction(30), frames: int = 60) -> InputShape:
    return InputShape(width=size, height=height or size, fps=fps, frames=frames)


@pytest.mark.parametrize("size", SIZES)
def test_mirror_geometry_is_exact_for_any_size(size):
    g = geometry(shape(size))
    # The square is scaled to half the width; strips above and below make exactly 16:9.
    assert 2 * g["half_px"] == 1920
    assert g["half_px"] + 2 * g["strip_px"] == 1080
    assert g["bottom_y"] + g["strip_px"] == g["half_px"]


@pytest.mark.parametrize("graph,size", [("mirror-1080p", size) for size in SIZES] + [(graph, size) for graph in ("fit-1080p", "fill-1080p") for size in (64, 101)])
def test_every_graph_renders_and_ffmpeg_makes_1080p(tmp_path, size, graph):
    """The rendered text is a graph ffmpeg accepts, and it yields 1920x1080 frames."""
    rendered = render(params(graph=graph, fade_in_s=0.02, fade_out_s=0.02, title={"text": "x", "start_s": 0.0, "end_s": 0.05, "fade_s": 0.01}), shape(size, frames=2), filters_dir=FILTERS)
    assert "$" not in rendered.text
    script = tmp_path / "graph.txt"
    script.write_text(rendered.text)
    tool = ffmpeg_tools.find_ffmpeg()
    result = subprocess.run(
        [tool.ffmpeg, "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}x{size}:rate=30", *tool.script_args(script), "-map", rendered.output_label, "-frames:v", "2", "-f", "rawvideo", "-"],
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr.decode()
    produced = len(result.stdout)
    assert produced == 2 * 1920 * 1080 * 3 // 2  # two yuv420p frames of 1080p


@pytest.mark.parametrize("width,height", [(64, 48), (96, 128), (200, 100)])
def test_fit_and_fill_keep_the_aspect(width, height):
    g = geometry(shape(width, height=height))
    assert g["scaled_w"] <= 1920 and g["scaled_h"] <= 1080
    assert g["scaled_w"] % 2 == 0 and g["scaled_h"] % 2 == 0
    assert abs(g["scaled_w"] / g["scaled_h"] - width / height) < 0.05
    assert g["fill_w"] >= 1920 and g["fill_h"] >= 1080
    # Even sizes centre exactly: the bars on both sides are equal.
    assert g["pad_x"] * 2 + g["scaled_w"] == 1920 and g["pad_y"] * 2 + g["scaled_h"] == 1080
    assert g["crop_x"] * 2 + 1920 == g["fill_w"] and g["crop_y"] * 2 + 1080 == g["fill_h"]


def test_boomerang_frame_counts():
    rendered = render(params(boomerang_s=0.5), shape(64, frames=60), filters_dir=FILTERS)
    assert "trim=end_frame=45" in rendered.text
    assert "trim=start_frame=30:end_frame=45" in rendered.text


def test_fades_placed_from_the_exact_duration():
    rendered = render(params(fade_in_s=0.5, fade_out_s=1.0), shape(64, fps=Fraction(30000, 1001), frames=300), filters_dir=FILTERS)
    assert "fade=type=in:start_time=0:duration=0.5" in rendered.text
    # 300 frames at 30000/1001 fps last 10.01 s.
    assert "fade=type=out:start_time=9.01:duration=1" in rendered.text
    assert "settb=expr=1001/30000" in rendered.text


def test_ten_bit_changes_the_pixel_format():
    rendered = render(params(ten_bit=True), shape(), filters_dir=FILTERS)
    assert rendered.pix_fmt == "yuv420p10le"
    assert "format=yuv420p10le[out]" in rendered.text


def test_title_text_is_escaped_for_both_levels():
    quoted = video_graph.quote_value("It's: a [test], 100% \\ ok")
    assert quoted == "'It\\'\\''s\\: a [test], 100% \\\\ ok'"


@pytest.mark.parametrize(
    "values,size,where",
    [
        ({"graph": "kaleido-4k"}, 64, "video.graph"),
        ({"graph": "mirror-1080p"}, (96, 64), "video.graph"),
        ({"graph": "mirror-1080p"}, (12, 12), "video.graph"),
        ({"title": {"text": "t", "font": "media/NoSuchFont.ttf", "start_s": 0.0, "end_s": 1.0}}, 64, "video.title.font"),
        ({"title": {"text": "t", "font": "No Such Family Sans", "start_s": 0.0, "end_s": 1.0}}, 64, "video.title.font"),
        ({"title": {"text": "t", "start_s": 1.0, "end_s": 5.0}}, 64, "video.title"),
        ({"title": {"text": "t", "start_s": 1.5, "end_s": 1.5}}, 64, "video.title"),
        ({"title": {"text": "t", "start_s": 0.0, "end_s": 1.0, "fade_s": 0.6}}, 64, "video.title.fade_s"),
        ({"title": {"text": "two\nlines", "start_s": 0.0, "end_s": 1.0}}, 64, "video.title.text"),
        ({"fade_in_s": 1.0, "fade_out_s": 1.5}, 64, "video.fade_out_s"),
        ({"boomerang_s": 1.5}, 64, "video.boomerang_s"),
        ({"boomerang_s": 0.01}, 64, "video.boomerang_s"),
    ],
)
def test_bad_parameters_name_their_key(values, size, where):
    width, height = size if isinstance(size, tuple) else (size, size)
    with pytest.raises(DreamreelError) as caught:
        render(params(**values), shape(width, height=height, frames=60), filters_dir=FILTERS)  # 2 s at 30 fps
    assert caught.value.where == f"params.yaml: {where}"
    assert "\n" not in str(caught.value)


def test_bad_colour_is_rejected_by_the_schema():
    with pytest.raises(DreamreelError, match="not a colour"):
        params(title={"colour": "white; rm"})


def test_font_family_resolves_to_a_file():
    assert video_graph.resolve_font("DejaVu Sans").is_file()


def test_unknown_placeholder_in_a_user_graph_names_the_template(tmp_path):
    for template in FILTERS.glob("*.txt"):
        (tmp_path / template.name).write_text(template.read_text())
    (tmp_path / "mine.txt").write_text("# my graph\n[$src]scale=$nonsense:-2[$dst]\n")
    with pytest.raises(DreamreelError, match=r"unknown placeholder \$nonsense") as caught:
        render(params(graph="mine"), shape(), filters_dir=tmp_path)
    assert caught.value.where.endswith("mine.txt")


def test_system_ffmpeg_takes_the_script_option():
    assert ffmpeg_tools.detect_script_option(ffmpeg_tools.find_ffmpeg().ffmpeg) in ("-filter_complex_script", "-/filter_complex")


def test_an_ffmpeg_that_wants_the_new_option_is_detected(tmp_path, monkeypatch):
    """A stand-in for ffmpeg 7+: it rejects -filter_complex_script and takes -/filter_complex."""
    real = ffmpeg_tools.find_ffmpeg()
    fake = tmp_path / "ffmpeg"
    fake.write_text(
        "#!/bin/bash\n"
        'args=()\nfor a in "$@"; do\n'
        '  if [ "$a" = -filter_complex_script ]; then echo "Unrecognized option" >&2; exit 8; fi\n'
        f'  if [ "$a" = -/filter_complex ]; then a=-filter_complex_script; fi\n'
        '  args+=("$a")\ndone\n'
        f'exec {real.ffmpeg} "${{args[@]}}"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("FFMPEG", str(fake))
    tool = ffmpeg_tools.find_ffmpeg()
    assert tool.ffmpeg == str(fake)
    assert tool.script_option == "-/filter_complex"


def test_missing_ffmpeg_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("FFMPEG", "/nonexistent/ffmpeg")
    with pytest.raises(DreamreelError, match="FFMPEG"):
        ffmpeg_tools.find_ffmpeg()


@pytest.mark.parametrize(
    "head, is_font",
    [
        (b"\x00\x01\x00\x00\x00\x10", True),  # TrueType
        (b"OTTO\x00\x0b", True),  # OpenType with CFF outlines
        (b"ttcf\x00\x02", True),  # a collection
        (b"true\x00\x10", True),  # Apple TrueType
        (b"wOF2\x00\x01", True),  # WOFF2
        (b"\x80\x01\x00\x00", True),  # Type 1, PFB
        (b"%!PS-AdobeFont-1.0: Foo", True),  # Type 1, PFA
        (b"hello, not a font", False),
        (b"<html>", False),
        (b"", False),
    ],
)
def test_a_font_file_is_recognised_by_its_first_bytes(tmp_path, head, is_font):
    font = tmp_path / "Title.ttf"
    font.write_bytes(head)
    if is_font:
        assert video_graph.resolve_font(str(font), where="p.yaml: video.title.font") == font.resolve()
    else:
        with pytest.raises(DreamreelError, match=r"^p\.yaml: video\.title\.font: .* is not a font file"):
            video_graph.resolve_font(str(font), where="p.yaml: video.title.font")


def test_colour_names_are_checked_against_ffmpegs_list():
    names = ffmpeg_tools.colour_names(ffmpeg_tools.find_ffmpeg().ffmpeg)
    assert {"White", "Black", "SkyBlue"} <= names and len(names) > 100
    video_graph.check_colours(params(pad_colour="skyblue@0.5", title={"colour": "#FFAA00", "border_colour": "0x000000@0.6"}), names)
    with pytest.raises(DreamreelError, match=r"^mine\.yaml: video\.title\.colour: ffmpeg knows no colour 'whte' — did you mean 'white'\?"):
        video_graph.check_colours(params(title={"colour": "whte"}), names, where="mine.yaml: video")
    with pytest.raises(DreamreelError, match="every run"):
        video_graph.check_colours(params(pad_colour="random"), names)


def test_messages_name_the_users_params_file():
    with pytest.raises(DreamreelError, match=r"^pieces/night\.yaml: video\.graph: unknown graph"):
        render(params(graph="nope"), shape(), filters_dir=FILTERS, where="pieces/night.yaml: video")
