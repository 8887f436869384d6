"""The 8D panning slot of the wet chain: turns a part's ``pan`` params into an effect.

``pan: null`` (the default) leaves the slot empty, so the part stays where the stem has it.
The panner itself (automation in bars and beats, binaural rendering) is issue #3; until
it lands, any pan automation is refused with a clear message rather than ignored.
"""

from __future__ import annotations

from pathlib import Path

from .effects import Effect
from .errors import DreamreelError


def pan_effect(settings, *, score_json: Path, where: str) -> Effect | None:
    """The effect for one part's ``pan`` params, or None for no panning."""
    if settings is None:
        return None
    raise DreamreelError(where, "8D pan automation is not available in this version", "remove the pan key (or set it to null) for now")
