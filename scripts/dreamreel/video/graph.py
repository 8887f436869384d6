"""Fill the filter-graph templates in filters/ from the ``video`` params and the input's size.

A composed graph is a chain of stages, each a template file in ``filters/`` that reads
one labelled pad (``$src``) and writes one (``$dst``):

``timing`` → ``boomerang`` (optional) → the named graph (``mirror-1080p``, ``fit-1080p``,
``fill-1080p`` or any other ``filters/<name>.txt``) → ``title`` (optional) →
``fade-in`` / ``fade-out`` (optional) → ``output``.

Every number in a template (crop boxes, strip heights, frame counts, fade times) is
computed here from the probed input, never written by hand, and checked first, so a bad
parameter is reported against its params key before ffmpeg runs. String values (title
text, font file, colours) are escaped for both levels of ffmpeg's filter-graph syntax.

Template files may start with ``#`` comment lines; a line ``# requires: square`` marks a
graph that needs a square input. Comments are dropped from the rendered graph, which is
exactly what ffmpeg runs.
"""

from __future__ import annotations

import difflib
import re
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from string import Template
from typing import Any, Collection, Mapping

from dreamreel.core import processes
from dreamreel.core.errors import DreamreelError
from dreamreel.video.sections import SCALE_FLAGS, font_is_file

OUT_W = 1920
OUT_H = 1080
MIN_EDGE_PX = 16
# The params section when no caller names it (tests, tools); stages pass the user's file.
WHERE = "params.yaml: video"

# Stage templates that every graph shares; any other filters/*.txt is a named graph.
FRAGMENTS = ("timing", "boomerang", "title", "fade-in", "fade-out", "output")


@dataclass(frozen=True)
class InputShape:
    """The facts about the square video that the graph depends on."""

    width: int
    height: int
    fps: Fraction
    frames: int

    @property
    def duration_s(self) -> float:
        """Length of the picture: frames / fps (frame k shows from k/fps to (k+1)/fps)."""
        return float(self.frames / self.fps)


# ---------------------------------------------------------------------------------------
# Escaping: ffmpeg parses a graph twice, first the graph (separators , ; [ ]) and then each
# filter's options (separator :). Single quotes protect everything at one level except a
# quote itself, so a value is escaped for the option level first, then quoted for the graph.
# ---------------------------------------------------------------------------------------


def quote_value(value: str) -> str:
    """Quote ``value`` so that it reaches a filter option unchanged."""
    option_level = re.sub(r"([\\':])", r"\\\1", value)
    return "'" + option_level.replace("'", "'\\''") + "'"


def quote_expression(expression: str) -> str:
    """Quote an expression (it may hold commas, never quotes or colons)."""
    if "'" in expression or ":" in expression:
        raise ValueError(f"expression must not contain quotes or colons: {expression!r}")
    return f"'{expression}'"


def number(value: float | Fraction | int) -> str:
    """A number as ffmpeg reads it: integers plain, others with up to 6 decimals."""
    if isinstance(value, Fraction):
        value = float(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphTemplate:
    name: str
    path: Path
    body: str
    requires: frozenset[str]


def load_template(filters_dir: Path, name: str) -> GraphTemplate:
    """Read ``filters_dir/<name>.txt``: its comment header and its graph text."""
    path = filters_dir / f"{name}.txt"
    text = path.read_text(encoding="utf-8")
    requires: set[str] = set()
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            match = re.match(r"#\s*requires:\s*(.+)$", stripped)
            if match:
                requires.update(word.strip() for word in match.group(1).split(","))
        elif stripped:
            lines.append(stripped)
    return GraphTemplate(name, path, "\n".join(lines), frozenset(requires))


def graph_names(filters_dir: Path) -> list[str]:
    """The named graphs in ``filters_dir`` (every template that is not a shared stage)."""
    return sorted(path.stem for path in Path(filters_dir).glob("*.txt") if path.stem not in FRAGMENTS)


def fill(template: GraphTemplate, values: Mapping[str, Any]) -> str:
    """Substitute ``values`` into a template; a placeholder without a value is a bug in this module."""
    try:
        return Template(template.body).substitute(values)
    except KeyError as error:
        raise DreamreelError(str(template.path), f"unknown placeholder ${error.args[0]}", f"use only: {', '.join(sorted(values))}") from None
    except ValueError as error:
        raise DreamreelError(str(template.path), f"bad placeholder syntax ({error})", "write placeholders as $name or ${name}; a literal $ as $$") from None


# ---------------------------------------------------------------------------------------
# Fonts
# ---------------------------------------------------------------------------------------


# The first bytes of the font formats FreeType (drawtext's renderer) reads from a file:
# TrueType (0x00010000, Apple's 'true' and 'typ1'), OpenType/CFF ('OTTO'), collections
# ('ttcf'), WOFF and WOFF2, and Type 1 as PFB (0x80 0x01) or PFA (PostScript text).
FONT_MAGIC = (b"\x00\x01\x00\x00", b"true", b"typ1", b"OTTO", b"ttcf", b"wOFF", b"wOF2", b"\x80\x01", b"%!PS-AdobeFont", b"%!FontType1")


def check_font_file(path: Path, *, where: str) -> None:
    """Fail unless ``path`` starts like a font file.

    drawtext does not stop on a file that is not a font: the title comes out in a fallback
    font and nothing says why. So the file is checked here, before ffmpeg runs.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError as error:
        raise DreamreelError(where, f"font file {str(path)!r} cannot be read ({error.strerror})", "make it readable, or name an installed family such as 'DejaVu Sans'") from None
    if not head.startswith(FONT_MAGIC):
        seen = "it is empty" if not head else f"it starts with {head[:4]!r}"
        raise DreamreelError(where, f"{str(path)!r} is not a font file ({seen})", "give a TrueType or OpenType font (.ttf, .otf, .ttc), or name an installed family such as 'DejaVu Sans'")


def check_colours(params: Mapping[str, Any], colour_names: Collection[str], *, where: str = WHERE) -> None:
    """Fail on a colour name (``pad_colour``, ``title.colour``, ``title.border_colour``) that
    is not in ``colour_names``, ffmpeg's list; hex colours pass (the schema checked them).

    Checked before ffmpeg runs: its own message for an unknown name is a page of filter
    errors that does not say which key is wrong. ``random`` is refused too: it would make
    every run's bytes different.
    """
    known = {name.lower() for name in colour_names}
    fields = [("pad_colour", params.get("pad_colour"))]
    title = params.get("title") or {}
    fields += [(f"title.{key}", title.get(key)) for key in ("colour", "border_colour")]
    for key, value in fields:
        if not isinstance(value, str):
            continue
        name = value.split("@", 1)[0]
        if name.startswith(("#", "0x")):
            continue
        if name.lower() == "random":
            raise DreamreelError(f"{where}.{key}", "'random' picks a new colour on every run", "name a colour, e.g. white, or give #RRGGBB")
        if name.lower() not in known:
            close = difflib.get_close_matches(name.lower(), sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise DreamreelError(f"{where}.{key}", f"ffmpeg knows no colour {name!r}", f"{hint}use a name from `ffmpeg -colors` (white, gold, SkyBlue...), #RRGGBB or #RRGGBBAA")


def resolve_font(font: str, *, where: str = f"{WHERE}.title.font") -> Path:
    """Turn the ``title.font`` parameter into a font file.

    A value that looks like a file (has a slash or a font suffix) must exist. Anything
    else is a fontconfig family name, which must be installed: fontconfig always answers
    with *some* font, so the family it returns is compared with the one asked for.
    """
    if font_is_file(font):
        path = Path(font)
        if not path.is_file():
            raise DreamreelError(where, f"font file {font!r} does not exist", "put the font in media/ and give its path, or name an installed family such as 'DejaVu Sans'")
        check_font_file(path, where=where)
        return path.resolve()
    if shutil.which("fc-match") is None:
        raise DreamreelError(where, f"cannot look up the font family {font!r}: fc-match (fontconfig) is not installed", "install fontconfig, or give a font file path")
    result = processes.run(["fc-match", "--format=%{family}\n%{file}", font])
    families, _, file = result.stdout.partition("\n")
    wanted = font.split(":")[0].strip().lower()
    if result.returncode != 0 or wanted not in [name.strip().lower() for name in families.split(",")] or not file:
        raise DreamreelError(where, f"font family {font!r} is not installed (fontconfig offers {families or 'nothing'})", "install it, name an installed family (fc-list : family), or give a .ttf path in media/")
    return Path(file)


# ---------------------------------------------------------------------------------------
# Geometry and validation
# ---------------------------------------------------------------------------------------


def _even(value: float) -> int:
    return max(2, int(round(value / 2.0)) * 2)


def geometry(shape: InputShape) -> dict[str, int]:
    """Pixel geometry of all named graphs for an input of ``shape`` (all in output pixels)."""
    half = OUT_W // 2
    strip = (OUT_H - half) // 2
    # fit: the largest size with the input's aspect inside 1920x1080; fill: the smallest covering it.
    fit_scale = min(OUT_W / shape.width, OUT_H / shape.height)
    fill_scale = max(OUT_W / shape.width, OUT_H / shape.height)
    fit_w, fit_h = min(OUT_W, _even(shape.width * fit_scale)), min(OUT_H, _even(shape.height * fit_scale))
    fill_w, fill_h = max(OUT_W, _even(shape.width * fill_scale)), max(OUT_H, _even(shape.height * fill_scale))
    return {
        "out_w": OUT_W,
        "out_h": OUT_H,
        "in_w": shape.width,
        "in_h": shape.height,
        "half_px": half,
        "strip_px": strip,
        "bottom_y": half - strip,
        "scaled_w": fit_w,
        "scaled_h": fit_h,
        "pad_x": (OUT_W - fit_w) // 2,
        "pad_y": (OUT_H - fit_h) // 2,
        "fill_w": fill_w,
        "fill_h": fill_h,
        "crop_x": (fill_w - OUT_W) // 2,
        "crop_y": (fill_h - OUT_H) // 2,
    }


def _title_xy(position: str, margin_px: int) -> tuple[str, str]:
    m = str(margin_px)
    x = {"left": m, "right": f"w-text_w-{m}", "center": "(w-text_w)/2"}
    y = {"top": m, "bottom": f"h-text_h-{m}", "center": "(h-text_h)/2"}
    if position == "center":
        return x["center"], y["center"]
    vertical, _, horizontal = position.partition("-")
    return x[horizontal or "center"], y[vertical]


def _check_window(where: str, start: float, end: float, duration: float) -> None:
    if end > duration + 1e-9:
        raise DreamreelError(where, f"ends at {end:g} s but the video is {duration:.3f} s long", f"end it at or before {duration:.3f} s")
    if not start < end:
        raise DreamreelError(where, f"starts at {start:g} s, not before its end at {end:g} s", "make start_s smaller than end_s")


@dataclass(frozen=True)
class RenderedGraph:
    """A graph ready for ffmpeg: its text, the pad label to map, the encoder pixel format."""

    text: str
    output_label: str
    pix_fmt: str


def render(
    params: Mapping[str, Any],
    shape: InputShape,
    *,
    filters_dir: str | Path,
    input_label: str = "0:v",
    where: str = WHERE,
    colour_names: Collection[str] | None = None,
) -> RenderedGraph:
    """Render the whole composition graph for ``params`` (the video section) and ``shape``.

    Raises :class:`DreamreelError` naming the params key for anything that would make a
    wrong or failing graph: an unknown graph, a non-square input for a graph that needs
    one, a missing font, a title window or fades outside the video, a boomerang longer
    than half of it, a colour name ffmpeg does not know (when ``colour_names``, ffmpeg's
    list, is given), a font file that is not a font.

    ``where`` names the section in messages: ``"<the user's params file>: video"``.
    """
    filters_dir = Path(filters_dir)
    if colour_names is not None:
        check_colours(params, colour_names, where=where)
    if not filters_dir.is_dir():
        raise DreamreelError(str(filters_dir), "filter template folder not found", "pass the repository's filters/ folder")
    name = str(params["graph"])
    known = graph_names(filters_dir)
    if name not in known:
        raise DreamreelError(f"{where}.graph", f"unknown graph {name!r}", f"use one of: {', '.join(known)} (files in {filters_dir}/)")
    body = load_template(filters_dir, name)

    if shape.frames < 1:
        raise DreamreelError(f"{where} (input video)", "the input video has no frames", "rebuild build/gan/frames.mkv")
    if shape.width < MIN_EDGE_PX or shape.height < MIN_EDGE_PX:
        raise DreamreelError(f"{where}.graph", f"input is {shape.width}x{shape.height}, smaller than {MIN_EDGE_PX} px", "render the GAN frames at 64 px or more")
    if "square" in body.requires and shape.width != shape.height:
        raise DreamreelError(f"{where}.graph", f"{name} needs a square input, got {shape.width}x{shape.height}", "render square GAN frames, or use graph: fit-1080p")

    duration = shape.duration_s
    pix_fmt = "yuv420p10le" if params["ten_bit"] else "yuv420p"
    values: dict[str, Any] = {
        **geometry(shape),
        "flags": SCALE_FLAGS[params["scale"]],
        "pix_fmt": pix_fmt,
        "pad_colour": quote_value(params["pad_colour"]),
        "time_base": f"{shape.fps.denominator}/{shape.fps.numerator}",
    }

    stages: list[tuple[str, dict[str, Any]]] = [("timing", {})]

    boomerang_frames = round(params["boomerang_s"] * shape.fps)
    if params["boomerang_s"] > 0:
        if boomerang_frames < 2 or 2 * boomerang_frames > shape.frames:
            raise DreamreelError(f"{where}.boomerang_s", f"{params['boomerang_s']:g} s is {boomerang_frames} frames; it needs 2 to {shape.frames // 2} (half of the {duration:.3f} s video)", "shorten it, or 0 for none")
        keep = shape.frames - boomerang_frames
        stages.append(("boomerang", {"keep_frames": keep, "reverse_start": keep - boomerang_frames}))

    stages.append((name, {}))

    title = params["title"]
    if title and title["text"].strip():
        text = title["text"].strip()
        if any(ord(char) < 32 or ord(char) == 127 for char in text):
            raise DreamreelError(f"{where}.title.text", "contains a control character (newline or tab)", "write the title on one line")
        start = float(title["start_s"])
        end = float(title["end_s"]) if title["end_s"] is not None else duration
        _check_window(f"{where}.title", start, end, duration)
        fade = float(title["fade_s"])
        if 2 * fade > end - start + 1e-9:
            raise DreamreelError(f"{where}.title.fade_s", f"{fade:g} s in and out does not fit the {end - start:g} s window", f"use at most {(end - start) / 2:g} s")
        font = resolve_font(title["font"], where=f"{where}.title.font")
        x, y = _title_xy(title["position"], title["margin_px"])
        if fade > 0:
            alpha = f"min(1,max(0,min((t-{number(start)})/{number(fade)},({number(end)}-t)/{number(fade)})))"
        else:
            alpha = "1"
        stages.append(
            (
                "title",
                {
                    "fontfile": quote_value(str(font)),
                    "text": quote_value(text),
                    "size_px": title["size_px"],
                    "colour": quote_value(title["colour"]),
                    "border_colour": quote_value(title["border_colour"]),
                    "border_px": title["border_px"],
                    "x": quote_expression(x),
                    "y": quote_expression(y),
                    "alpha": quote_expression(alpha),
                    "enable": quote_expression(f"between(t,{number(start)},{number(end)})"),
                },
            )
        )

    fade_in, fade_out = float(params["fade_in_s"]), float(params["fade_out_s"])
    if fade_in + fade_out > duration + 1e-9:
        key = "fade_out_s" if fade_out >= fade_in else "fade_in_s"
        raise DreamreelError(f"{where}.{key}", f"fades of {fade_in:g} s in and {fade_out:g} s out are longer than the {duration:.3f} s video", "shorten them")
    if fade_in > 0:
        stages.append(("fade-in", {"duration_s": number(fade_in)}))
    if fade_out > 0:
        stages.append(("fade-out", {"duration_s": number(fade_out), "start_s": number(duration - fade_out)}))

    stages.append(("output", {}))

    parts = []
    source = input_label
    for index, (stage, extra) in enumerate(stages):
        last = index == len(stages) - 1
        destination = "out" if last else f"v{index}"
        template = body if stage == name else load_template(filters_dir, stage)
        parts.append(fill(template, {**values, **extra, "src": source, "dst": destination}))
        source = destination
    return RenderedGraph(";\n".join(parts) + "\n", "[out]", pix_fmt)
