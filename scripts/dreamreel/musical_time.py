"""Musical time: bars and beats to ticks, ticks to seconds, through the score's tempo map.

Positions are written as (bar, beat, fraction): ``bar`` as printed in the score (the pickup,
if any, is bar 0), ``beat`` counted from 1 in units of the bar's time-signature
denominator (a 6/8 bar has six eighth-note beats, a 5/4 bar five quarter-note beats),
``fraction`` a part of one beat in [0, 1). Tempo may change anywhere, also inside a bar;
time is integrated piecewise over the tempo map, so no rounding creeps in.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .errors import DreamreelError
from .score import Score


@dataclass(frozen=True)
class TempoMap:
    """Piecewise-constant tempo: segment i starts at ``ticks[i]`` and ``seconds[i]``."""

    ticks_per_quarter: int
    ticks: np.ndarray  # int64 (S,)
    seconds: np.ndarray  # float64 (S,)
    seconds_per_tick: np.ndarray  # float64 (S,)

    @classmethod
    def from_score(cls, score: Score) -> "TempoMap":
        ticks = np.array([t.tick for t in score.tempos], dtype=np.int64)
        seconds_per_tick = np.array([t.us_per_quarter for t in score.tempos], dtype=np.float64) / 1e6 / score.ticks_per_quarter
        seconds = np.zeros(len(ticks))
        if len(ticks) > 1:
            seconds[1:] = np.cumsum(np.diff(ticks) * seconds_per_tick[:-1])
        return cls(score.ticks_per_quarter, ticks, seconds, seconds_per_tick)

    def tick_to_seconds(self, tick):
        """Seconds at ``tick`` (scalar or array of ticks, may be fractional)."""
        tick = np.asarray(tick, dtype=np.float64)
        index = np.clip(np.searchsorted(self.ticks, tick, side="right") - 1, 0, None)
        result = self.seconds[index] + (tick - self.ticks[index]) * self.seconds_per_tick[index]
        return float(result) if result.ndim == 0 else result

    def seconds_to_tick(self, seconds):
        """The inverse of :meth:`tick_to_seconds` (fractional ticks)."""
        seconds = np.asarray(seconds, dtype=np.float64)
        index = np.clip(np.searchsorted(self.seconds, seconds, side="right") - 1, 0, None)
        result = self.ticks[index] + (seconds - self.seconds[index]) / self.seconds_per_tick[index]
        return float(result) if result.ndim == 0 else result


class MusicalClock:
    """Converts (bar, beat, fraction) positions of one score into ticks and seconds."""

    def __init__(self, score: Score, *, where: str = "score"):
        self.score = score
        self.where = where
        self.tempo = TempoMap.from_score(score)
        self.bar_ticks = list(score.bar_ticks)
        self.first_bar = score.first_bar_number
        self.last_bar = self.first_bar + len(self.bar_ticks) - 2

    def meter_at(self, tick: int):
        meter = self.score.meters[0]
        for change in self.score.meters:
            if change.tick <= tick:
                meter = change
        return meter

    def beat_ticks(self, bar: int) -> Fraction:
        """Length of one beat in ``bar``, in ticks."""
        meter = self.meter_at(self.bar_ticks[bar - self.first_bar])
        return Fraction(self.score.ticks_per_quarter * 4, meter.denominator)

    def beats_in_bar(self, bar: int) -> Fraction:
        index = bar - self.first_bar
        return Fraction(self.bar_ticks[index + 1] - self.bar_ticks[index]) / self.beat_ticks(bar)

    def position_to_tick(self, bar: int, beat: float = 1, fraction: float = 0.0, *, field: str = "position") -> Fraction:
        """Tick of (bar, beat, fraction); a position just past the final barline is allowed
        as bar ``last_bar + 1`` beat 1 (the end of the piece)."""
        if bar == self.last_bar + 1 and beat == 1 and fraction == 0:
            return Fraction(self.bar_ticks[-1])
        if not self.first_bar <= bar <= self.last_bar:
            raise DreamreelError(
                f"{self.where}: {field}", f"bar {bar} is outside the score (bars {self.first_bar} to {self.last_bar})",
                f"use a bar from {self.first_bar} to {self.last_bar}, or {self.last_bar + 1} for the very end",
            )
        offset = Fraction(beat) - 1 + Fraction(fraction)
        if offset < 0 or offset > self.beats_in_bar(bar):
            raise DreamreelError(
                f"{self.where}: {field}", f"beat {beat} is outside bar {bar}, which has {float(self.beats_in_bar(bar)):g} beats",
                "count beats from 1 in units of the time signature's lower number",
            )
        return self.bar_ticks[bar - self.first_bar] + offset * self.beat_ticks(bar)

    def position_to_seconds(self, bar: int, beat: float = 1, fraction: float = 0.0, *, field: str = "position") -> float:
        return self.tempo.tick_to_seconds(float(self.position_to_tick(bar, beat, fraction, field=field)))

    def bar_seconds(self) -> np.ndarray:
        """Seconds of every barline, final barline included."""
        return self.tempo.tick_to_seconds(np.array(self.bar_ticks, dtype=np.float64))

    def beat_seconds(self) -> np.ndarray:
        """Seconds of every beat (downbeats included), up to but not including the final barline."""
        ticks = []
        for index in range(len(self.bar_ticks) - 1):
            bar = self.first_bar + index
            step = self.beat_ticks(bar)
            tick = Fraction(self.bar_ticks[index])
            while tick < self.bar_ticks[index + 1]:
                ticks.append(float(tick))
                tick += step
        return self.tempo.tick_to_seconds(np.array(ticks))

    @property
    def duration_s(self) -> float:
        """Seconds from the start to the final barline."""
        return self.tempo.tick_to_seconds(float(self.bar_ticks[-1]))
