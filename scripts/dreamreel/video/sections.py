"""The params sections of the video stage: effects, video (compose, title) and mux.

Declared apart from the code that uses them, so that the params split
(``scripts/params.py``) reads these declarations without importing the stage's logic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dreamreel.core.errors import DreamreelError
from dreamreel.core.params import Field, Section, validate_section

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
        "loop": Field(False, "bool", "the latent walk returns to its start, so the video loops seamlessly (needs no fades and no boomerang)"),
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


# ---- Effects ------------------------------------------------------------------------------
# What each effect's amount means at full signal (1.0), and the range a user may write.
# The ranges keep a picture recognisable: beyond them an effect only tears the frame apart.


@dataclass(frozen=True)
class EffectSpec:
    """One effect: its kind (geometry, colour or filter), amount range and amount's unit."""

    kind: str
    minimum: float
    maximum: float
    unit: str


EFFECTS_KNOWN = {
    "zoom": EffectSpec("geometry", -0.9, 4.0, "relative size change: 1 doubles the picture, -0.5 halves it"),
    "rotate": EffectSpec("geometry", -8.0, 8.0, "turns, clockwise (1 = 360 degrees)"),
    "swirl": EffectSpec("geometry", -4.0, 4.0, "turns of twist at the centre, none at the edge of the inscribed circle"),
    "translate": EffectSpec("geometry", -1.0, 1.0, "frame widths, towards angle_deg (0 = right, 90 = down)"),
    "shake": EffectSpec("geometry", 0.0, 0.5, "frame widths, in a direction that changes every frame"),
    "chromatic": EffectSpec("geometry", -0.2, 0.2, "red grows and blue shrinks by this fraction about the centre"),
    "flash": EffectSpec("colour", -1.0, 1.0, "fraction of the way to white (negative: to black)"),
    "contrast": EffectSpec("colour", -1.0, 4.0, "contrast change: 1 doubles it, -1 is flat grey"),
    "saturation": EffectSpec("colour", -1.0, 4.0, "saturation change: 1 doubles it, -1 is grey"),
    "hue": EffectSpec("colour", -1.0, 1.0, "turns of hue rotation (0.5 = complementary colours)"),
    "blur": EffectSpec("filter", 0.0, 0.05, "Gaussian sigma in frame widths"),
    "sharpen": EffectSpec("filter", 0.0, 4.0, "unsharp-mask strength (1 doubles the fine detail)"),
}

# Per-frame features of build/gan/features.npz by signal name: (array, column or None).
FEATURE_SIGNALS = {
    "band_low": ("bands", 0),
    "band_mid": ("bands", 1),
    "band_high": ("bands", 2),
    "onset": ("onset", None),
    "rms": ("rms", None),
    "power": ("power", None),
    "power_gradient": ("power_gradient", None),
    "percussive": ("percussive", None),
    "harmonic": ("harmonic", None),
}
# Musical time: beat and bar are 1 on the frame of each beat (barline) and 0 elsewhere, so
# attack_s and release_s shape a hit; *_phase rise from 0 to 1 over each beat (bar), so a
# rotate with amount 1 by bar_phase turns once per bar.
MUSICAL_SIGNALS = ("beat", "bar", "beat_phase", "bar_phase")
# constant is 1 on every frame: an effect that holds still (a fixed contrast, a tilt).
SIGNALS_KNOWN = (*FEATURE_SIGNALS, *MUSICAL_SIGNALS, "constant")

CURVES = ("linear", "ease_in", "ease_out", "smooth", "step")

EFFECT_ENTRY = Section(
    {
        "effect": Field(None, "str", "the effect", nullable=True),
        "by": Field(None, "str", "the signal that drives it", nullable=True),
        "amount": Field(None, "number", "the effect at full signal (its unit depends on the effect)", minimum=-1e6, maximum=1e6, nullable=True),
        "attack_s": Field(0.0, "number", "time for the effect to rise to a louder signal (0 = at once)", minimum=0.0, maximum=60.0),
        "release_s": Field(0.0, "number", "time for it to fall back after the signal drops (0 = at once)", minimum=0.0, maximum=60.0),
        "curve": Field("linear", "str", "shape from signal to amount", choices=CURVES),
        "angle_deg": Field(None, "number", "translate only: the direction, 0 = right, 90 = down", minimum=-360.0, maximum=360.0, nullable=True),
    }
)


def _check_chain(entries: list) -> None:
    """Check every entry of ``effects.chain``; the first bad one raises, naming its index and key."""
    for index, raw in enumerate(entries):
        here = f"[{index}]"
        entry = validate_section(here, EFFECT_ENTRY, raw)
        for key, known in (("effect", EFFECTS_KNOWN), ("by", SIGNALS_KNOWN)):
            value = entry[key]
            if value is None:
                raise DreamreelError(f"{here}.{key}", "missing", f"give one of: {', '.join(known)}")
            if not isinstance(value, str) or value not in known:
                raise DreamreelError(f"{here}.{key}", f"unknown {'effect' if key == 'effect' else 'signal'} {value!r}", f"use one of: {', '.join(known)}")
        spec = EFFECTS_KNOWN[entry["effect"]]
        amount = entry["amount"]
        if amount is None:
            raise DreamreelError(f"{here}.amount", "missing", f"give the {entry['effect']} at full signal, from {spec.minimum:g} to {spec.maximum:g} ({spec.unit})")
        if not spec.minimum <= amount <= spec.maximum:
            raise DreamreelError(f"{here}.amount", f"{amount:g} is out of range for {entry['effect']}", f"use a value from {spec.minimum:g} to {spec.maximum:g} ({spec.unit})")
        if entry["angle_deg"] is not None and entry["effect"] != "translate":
            raise DreamreelError(f"{here}.angle_deg", f"{entry['effect']} has no direction", "remove angle_deg (only translate takes one)")


def effect_entries(chain: list) -> list[dict]:
    """The entries of a checked ``effects.chain`` with their defaults filled in."""
    return [validate_section(f"[{index}]", EFFECT_ENTRY, raw) for index, raw in enumerate(chain)]


EFFECTS = Section(
    {
        "chain": Field(
            [],
            "list",
            "effects keyed to the music, e.g. [{effect: swirl, by: onset, amount: 0.8, release_s: 0.3}]; [] for none (no extra pass)",
            check=_check_chain,
        ),
        "beats_per_bar": Field(4, "int", "a song's bar in tracked beats, for by: bar and bar_phase (a score has its own bars)", minimum=1, maximum=16),
    },
    help="image effects keyed to the music: build/gan/frames.mkv -> build/video/effects.mkv (lossless)",
)
