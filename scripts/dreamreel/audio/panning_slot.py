"""The 8D panning slot: turns a part's ``pan`` params into an effect of its chains.

``pan: null`` (the default) leaves the slot empty, so the part stays where the stem has it.
Otherwise ``pan`` is keyframe automation in bars and beats (:mod:`dreamreel.automation`),
placed in time by the score's tempo map (``build/score/score.json``) and rendered by
:mod:`dreamreel.binaural`. The stem is summed to mono and moved around the head.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamreel.audio.automation import Automation, Control, parse_automation
from dreamreel.audio.binaural import mono_source, render
from dreamreel.audio.effects import Effect
from dreamreel.core.errors import DreamreelError
from dreamreel.score.model import load_score_json
from dreamreel.score.musical_time import MusicalClock
from dreamreel.score.read import read_score


def render_automation(audio: np.ndarray, sample_rate_hz: int, automation: Automation) -> tuple[np.ndarray, Control]:
    """Render ``audio`` (channels, samples) along ``automation`` in its mode: (2, samples) and the control used."""
    control = automation.control(audio.shape[-1], sample_rate_hz)
    if automation.mode == "sofa":
        from dreamreel.audio.sofa import read_sofa, render_sofa

        ring = read_sofa(automation.sofa, sample_rate_hz=sample_rate_hz)
        return render_sofa(mono_source(audio), control, ring), control
    return render(audio, sample_rate_hz, control, mode=automation.mode), control


@dataclass(frozen=True)
class Pan8D:
    """The effect: ``audio`` (channels, samples) at a rate -> (2, samples) moved by ``automation``."""

    automation: Automation

    def __call__(self, audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
        return render_automation(audio, sample_rate_hz, self.automation)[0]


def load_clock(score_path: str | Path, *, where: str | None = None) -> MusicalClock:
    """The musical clock of a score file (.mid, .musicxml, .mxl, ...) or of a parsed score.json."""
    score_path = Path(score_path)
    if score_path.suffix.lower() == ".json":
        score = load_score_json(score_path)
    else:
        score = read_score(score_path)
    return MusicalClock.from_score(score, where=where or str(score_path))


def pan_effect(settings, *, score_json: Path, where: str) -> Effect | None:
    """The effect for one part's ``pan`` params, or None for no panning.

    Parameters
    ----------
    settings : list, dict or None
        The value of ``parts.<name>.pan``.
    score_json : Path
        ``build/score/score.json``, for the tempo map and the bars.
    where : str
        Names the field in messages, e.g. ``"params.yaml: parts.vibraphone.pan"``.
    """
    if settings is None:
        return None
    if not Path(score_json).is_file():
        raise DreamreelError(str(score_json), "score data not found", "8D pan automation is timed in bars; build the score first (make)")
    return Pan8D(parse_automation(settings, load_clock(score_json), where=where))
