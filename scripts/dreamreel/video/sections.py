"""The params sections of the video stage: video (compose, title) and mux.

Declared apart from the code that uses them, so that the params split
(``scripts/params.py``) reads these declarations without importing the stage's logic.
"""

from __future__ import annotations

import re

from dreamreel.core.params import Field, Section

SCALE_FLAGS = {
    "lanczos": "lanczos+accurate_rnd+full_chroma_int",
    "bicubic": "bicubic+accurate_rnd+full_chroma_int",
    "spline": "spline+accurate_rnd+full_chroma_int",
    "bilinear": "bilinear+accurate_rnd+full_chroma_int",
}



X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")



POSITIONS = ("center", "top", "bottom", "top-left", "top-right", "bottom-left", "bottom-right")



_COLOUR = re.compile(r"^(?:(?:#|0x)[0-9A-Fa-f]{6}(?:[0-9A-Fa-f]{2})?|[A-Za-z]+)(?:@(?:0(?:\.\d+)?|1(?:\.0+)?))?$")



def _check_colour(value: str) -> str | None:
    if not _COLOUR.match(value):
        return f"{value!r} is not a colour: use a name (white), #RRGGBB or #RRGGBBAA, optionally @opacity (white@0.8)"
    return None



TITLE = Section(
    {
        "text": Field("", "str", "title drawn over the video; empty for none"),
        "font": Field("DejaVu Sans", "str", "a fontconfig family name, or a .ttf/.otf file (e.g. media/MyFont.ttf)"),
        "size_px": Field(72, "int", "text height in output pixels", minimum=8, maximum=540),
        "colour": Field("white", "str", "text colour: name, #RRGGBB, optionally @opacity", check=_check_colour),
        "border_colour": Field("black@0.6", "str", "outline colour", check=_check_colour),
        "border_px": Field(2, "int", "outline width in pixels (0 for none)", minimum=0, maximum=40),
        "position": Field("bottom", "str", "where the text sits", choices=POSITIONS),
        "margin_px": Field(80, "int", "distance from the picture's edge", minimum=0, maximum=500),
        "start_s": Field(1.0, "number", "when the title appears", minimum=0.0, maximum=86400.0),
        "end_s": Field(6.0, "number", "when it is gone; null = the end of the video", minimum=0.0, maximum=86400.0, nullable=True),
        "fade_s": Field(0.5, "number", "title fade in and out", minimum=0.0, maximum=60.0),
    },
    help="the title card (drawtext)",
)



VIDEO = Section(
    {
        "graph": Field("mirror-1080p", "str", "filter graph: a file filters/<graph>.txt (mirror-1080p, fit-1080p, fill-1080p)"),
        "scale": Field("lanczos", "str", "upscaling filter", choices=tuple(SCALE_FLAGS)),
        "pad_colour": Field("black", "str", "colour of the bars of fit-1080p", check=_check_colour),
        "crf": Field(18, "int", "x264 quality (lower is better and larger; 18 is visually lossless)", minimum=0, maximum=51),
        "preset": Field("medium", "str", "x264 speed/size trade-off", choices=X264_PRESETS),
        "ten_bit": Field(False, "bool", "encode 10-bit (yuv420p10le): smoother gradients, fewer players"),
        "fade_in_s": Field(1.0, "number", "fade from black at the start (0 for none)", minimum=0.0, maximum=600.0),
        "fade_out_s": Field(2.0, "number", "fade to black at the end (0 for none)", minimum=0.0, maximum=600.0),
        "boomerang_s": Field(0.0, "number", "play the last N seconds backwards (0 for none)", minimum=0.0, maximum=600.0),
        "title": TITLE,
    },
    help="composing build/gan/frames.mkv into the 1920x1080 picture (one ffmpeg pass)",
)



def font_is_file(font: str) -> bool:
    """Whether ``title.font`` names a file (a path or a font suffix) rather than a family."""
    return "/" in font or font.lower().endswith((".ttf", ".otf", ".ttc", ".pfb"))


MUX = Section(
    {
        "aac_bitrate_kbps": Field(320, "int", "AAC bit rate of the .mp4's audio", minimum=64, maximum=512),
        "flac_level": Field(8, "int", "FLAC compression level of the .mkv's audio (0 fast .. 12 small)", minimum=0, maximum=12),
    },
    help="muxing build/video/picture.mkv with build/mix/master.wav into out/<piece>.mp4 and .mkv",
)
