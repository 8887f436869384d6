"""Exact video frame timing: the frame rate as a fraction and the frame count of a song.

Frame k of the video is shown at k/fps seconds, with fps an exact rational (30, 25,
30000/1001). A float such as 29.97 drifts against the audio by a frame every few minutes,
so the rate is kept as a :class:`fractions.Fraction` everywhere and written to files as two
integers (``fps_num``, ``fps_den``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from dreamreel.core.errors import DreamreelError

# Below 1 frame/s a video is a slide show; above 240 no display shows the difference and
# the render cost explodes. Anything outside is taken as a typo.
MIN_FPS = Fraction(1)
MAX_FPS = Fraction(240)


def parse_fps(value: Any, *, where: str) -> Fraction:
    """Read a frame rate given as an int, a decimal or a ``"num/den"`` string.

    Parameters
    ----------
    value : int, float or str
        ``30``, ``"30000/1001"``, ``"29.97"`` (taken exactly as 2997/100).
    where : str
        The file and field, for the error message.

    Returns
    -------
    Fraction
        The rate in frames per second, 1 to 240.
    """
    if isinstance(value, bool):
        value = None
    try:
        if isinstance(value, float):
            rate = Fraction(str(value))
        elif isinstance(value, (int, str)):
            rate = Fraction(str(value).strip())
        else:
            raise ValueError
    except (ValueError, ZeroDivisionError):
        raise DreamreelError(where, f"not a frame rate: {value!r}", 'write frames per second, e.g. 30 or "30000/1001"') from None
    if not MIN_FPS <= rate <= MAX_FPS:
        raise DreamreelError(where, f"frame rate {float(rate):g} fps is out of range", f"use {MIN_FPS} to {MAX_FPS} frames per second, e.g. 30")
    return rate


def check_fps(value: Any) -> str | None:
    """Schema check for an fps field: None when valid, else the problem."""
    try:
        parse_fps(value, where="fps")
    except DreamreelError as error:
        return error.problem
    return None


def frame_count(samples: int, sample_rate_hz: int, fps: Fraction) -> int:
    """The number of video frames for ``samples`` of audio: ceil(duration × fps), exactly.

    Integer arithmetic, so 3 minutes at 30000/1001 fps give the same count on every machine.
    """
    numerator = samples * fps.numerator
    denominator = sample_rate_hz * fps.denominator
    return -(-numerator // denominator)


def fps_text(fps: Fraction) -> str:
    """``"30"`` or ``"30000/1001"``: the form ffmpeg's -framerate accepts exactly."""
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"
