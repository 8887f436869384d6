"""Musical time: bars and beats to ticks, ticks to seconds, through a tempo map.

Positions are written as (bar, beat, fraction):

- ``bar`` counted as played, from 1 (a pickup, anacrusis, is bar 0). Without repeats that
  is the number printed in the score; with repeats the count goes on through them, as
  MuseScore's playback counts (bars 1-4 repeated once make bars 1-8, and the next bar
  is 9): the score is read in its played form (:mod:`dreamreel.score.repeats`).
- ``beat`` counted from 1 in units of the bar's time-signature denominator: a 6/8 bar has
  six eighth-note beats, a 5/4 bar five quarter-note beats, a 7/8 bar seven eighths.
  A pickup bar is counted the way musicians count it, from the end: a one-beat pickup in
  4/4 holds beat 4 only, a two-eighth pickup in 6/8 beats 5 and 6.
- ``fraction`` a part of one beat in [0, 1); a beat may also be given with decimals
  (beat 2.5 is halfway between beats 2 and 3).

Tempo may change anywhere, also inside a bar and at any tick; time is integrated piecewise
over the tempo map in floating point from exact tick positions, so there is no rounding
to whole BPM and no assumption that changes fall on barlines.

Two sources of a clock:

- a :class:`~dreamreel.score.Score` (from MIDI, MusicXML or MuseScore, through
  ``build/score/score.json``): :meth:`MusicalClock.from_score`;
- a finished song: beat times from beat tracking (:func:`track_beats`, librosa) and a
  bar length in beats given by the user: :meth:`MusicalClock.from_beat_times`. Every
  tracked beat is one quarter note of ``beats_per_bar``/4 bars; the time before the first
  tracked beat is a one-beat pickup, bar 0.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.score.model import MeterChange, Score

BEAT_GRID_TICKS = 960  # ticks per tracked beat in a beat-grid clock


@dataclass(frozen=True)
class TempoMap:
    """Piecewise-linear ticks to seconds: segment i starts at ``ticks[i]`` and ``seconds[i]``.

    The last segment continues at its rate for ever (and the first one backwards before
    tick 0), so a position in a song's tail past the final barline still has a time.
    """

    ticks_per_quarter: int
    ticks: np.ndarray  # float64 (S,), strictly increasing
    seconds: np.ndarray  # float64 (S,)
    seconds_per_tick: np.ndarray  # float64 (S,), > 0

    @classmethod
    def from_score(cls, score: Score) -> "TempoMap":
        ticks = np.array([t.tick for t in score.tempos], dtype=np.float64)
        seconds_per_tick = np.array([t.us_per_quarter for t in score.tempos], dtype=np.float64) / 1e6 / score.ticks_per_quarter
        seconds = np.zeros(len(ticks))
        if len(ticks) > 1:
            seconds[1:] = np.cumsum(np.diff(ticks) * seconds_per_tick[:-1])
        return cls(score.ticks_per_quarter, ticks, seconds, seconds_per_tick)

    @classmethod
    def from_points(cls, ticks: Sequence[float], seconds: Sequence[float], *, ticks_per_quarter: int) -> "TempoMap":
        """A map through given (tick, second) points, linear between them; the last rate goes on."""
        ticks = np.asarray(ticks, dtype=np.float64)
        seconds = np.asarray(seconds, dtype=np.float64)
        if len(ticks) < 2 or np.any(np.diff(ticks) <= 0) or np.any(np.diff(seconds) <= 0):
            raise ValueError("a tempo map needs at least two points, increasing in ticks and seconds")
        rate = np.diff(seconds) / np.diff(ticks)
        return cls(ticks_per_quarter, ticks, seconds, np.append(rate, rate[-1]))

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
    """Converts (bar, beat, fraction) positions of one piece into ticks, beats and seconds.

    Parameters
    ----------
    tempo : TempoMap
        Ticks to seconds.
    meters : list of MeterChange
        Time signatures from their ticks on; the first at tick 0.
    bar_ticks : list of int
        The tick of every barline, the final one included.
    first_bar : int
        Number of the first bar: 0 when the piece opens with a pickup, else 1.
    where : str
        Names the automation's file and field in error messages.
    """

    def __init__(self, *, tempo: TempoMap, meters: Sequence[MeterChange], bar_ticks: Sequence[int], first_bar: int, where: str = "score"):
        self.tempo = tempo
        self.ticks_per_quarter = tempo.ticks_per_quarter
        self.meters = list(meters)
        self.bar_ticks = list(bar_ticks)
        self.first_bar = first_bar
        self.last_bar = self.first_bar + len(self.bar_ticks) - 2
        self.where = where
        # Cumulative beat count at every meter change: beats(tick) is piecewise linear.
        self._meter_ticks = np.array([m.tick for m in self.meters], dtype=np.float64)
        self._meter_beat_ticks = np.array([self.ticks_per_quarter * 4 / m.denominator for m in self.meters])
        self._meter_beats = np.zeros(len(self.meters))
        if len(self.meters) > 1:
            self._meter_beats[1:] = np.cumsum(np.diff(self._meter_ticks) / self._meter_beat_ticks[:-1])

    @classmethod
    def from_score(cls, score: Score, *, where: str = "score") -> "MusicalClock":
        return cls(tempo=TempoMap.from_score(score), meters=score.meters, bar_ticks=score.bar_ticks,
                   first_bar=score.first_bar_number, where=where)

    @classmethod
    def from_beat_times(cls, beat_times_s: Sequence[float], *, beats_per_bar: int, duration_s: float, where: str = "beat grid") -> "MusicalClock":
        """A clock for a song: one tracked beat per quarter note, ``beats_per_bar`` to a bar.

        Parameters
        ----------
        beat_times_s : sequence of float, shape (B,)
            Times of the tracked beats in seconds, increasing, B >= 2.
        beats_per_bar : int
            Beats in one bar (4 for 4/4, 3 for a waltz); every bar has the same length.
        duration_s : float
            Length of the song; the final barline is the first one at or after it.
        """
        beats = np.asarray(beat_times_s, dtype=np.float64)
        if beats.ndim != 1 or len(beats) < 2 or np.any(np.diff(beats) <= 0) or beats[0] < 0:
            raise DreamreelError(where, "beat tracking found fewer than two beats", "use a song with a steady beat, or a score")
        if beats_per_bar < 1:
            raise DreamreelError(where, f"beats_per_bar must be at least 1, got {beats_per_bar}", "give the number of beats in one bar, e.g. 4")
        step = BEAT_GRID_TICKS
        if beats[0] > 0:
            # The lead-in before the first tracked beat is a one-beat pickup, bar 0.
            ticks = np.arange(len(beats) + 1, dtype=np.float64) * step
            seconds = np.concatenate([[0.0], beats])
            pickup = step
        else:
            ticks = np.arange(len(beats), dtype=np.float64) * step
            seconds = beats
            pickup = 0
        tempo = TempoMap.from_points(ticks, seconds, ticks_per_quarter=step)
        end_tick = tempo.seconds_to_tick(max(duration_s, float(seconds[-1])))
        bar = step * beats_per_bar
        bar_ticks = [0] if pickup else []
        tick = pickup
        bar_ticks.append(tick)
        while tick < end_tick - 1e-6:
            tick += bar
            bar_ticks.append(tick)
        return cls(tempo=tempo, meters=[MeterChange(0, beats_per_bar, 4)], bar_ticks=bar_ticks,
                   first_bar=0 if pickup else 1, where=where)

    # ---- bars and beats -----------------------------------------------------------------

    def meter_at(self, tick: float) -> MeterChange:
        index = int(np.searchsorted(self._meter_ticks, tick, side="right")) - 1
        return self.meters[max(index, 0)]

    def beat_ticks(self, bar: int) -> Fraction:
        """Length of one beat in ``bar``, in ticks."""
        meter = self.meter_at(self.bar_ticks[bar - self.first_bar])
        return Fraction(self.ticks_per_quarter * 4, meter.denominator)

    def beats_in_bar(self, bar: int) -> Fraction:
        index = bar - self.first_bar
        return Fraction(self.bar_ticks[index + 1] - self.bar_ticks[index]) / self.beat_ticks(bar)

    def _is_pickup(self, bar: int) -> bool:
        return bar == self.first_bar == 0

    def first_beat(self, bar: int) -> Fraction:
        """The number of the first beat in ``bar``: 1, or later in a pickup counted from the end."""
        if not self._is_pickup(bar):
            return Fraction(1)
        nominal = self.meter_at(self.bar_ticks[0]).numerator
        return max(Fraction(1), nominal + 1 - self.beats_in_bar(bar))

    def position_to_tick(self, bar: int, beat: float = 1, fraction: float = 0.0, *, field: str = "position") -> Fraction:
        """Tick of (bar, beat, fraction).

        The very end of the piece may be written as the final barline, bar ``last_bar + 1``
        beat 1, or as the last beat of the last bar plus a whole beat.
        """
        where = f"{self.where}: {field}"
        if bar == self.last_bar + 1 and beat == 1 and fraction == 0:
            return Fraction(self.bar_ticks[-1])
        if not self.first_bar <= bar <= self.last_bar:
            raise DreamreelError(
                where, f"bar {bar} is outside the piece (bars {self.first_bar} to {self.last_bar})",
                f"use a bar from {self.first_bar} to {self.last_bar}, or {self.last_bar + 1} for the very end",
            )
        first = self.first_beat(bar)
        offset = Fraction(beat) + Fraction(fraction) - first
        length = self.beats_in_bar(bar)
        if offset < 0 or offset > length:
            if self._is_pickup(bar):
                held = f"a pickup holding beats {float(first):g} to {float(first + length - 1):g}"
            else:
                held = f"which has {float(length):g} beats"
            raise DreamreelError(
                where, f"beat {float(Fraction(beat) + Fraction(fraction)):g} is outside bar {bar}, {held}",
                "count beats from 1 in units of the time signature's lower number",
            )
        return self.bar_ticks[bar - self.first_bar] + offset * self.beat_ticks(bar)

    def position_to_seconds(self, bar: int, beat: float = 1, fraction: float = 0.0, *, field: str = "position") -> float:
        return self.tempo.tick_to_seconds(float(self.position_to_tick(bar, beat, fraction, field=field)))

    def tick_to_position(self, tick: float) -> tuple[int, float]:
        """The (bar, beat) of a tick, the beat with decimals: the inverse of :meth:`position_to_tick`."""
        index = int(np.searchsorted(np.asarray(self.bar_ticks, dtype=np.float64), tick, side="right")) - 1
        index = min(max(index, 0), len(self.bar_ticks) - 2)
        bar = self.first_bar + index
        beat = float(self.first_beat(bar)) + (tick - self.bar_ticks[index]) / float(self.beat_ticks(bar))
        return bar, beat

    def tick_to_beats(self, tick):
        """Continuous count of beats (in each bar's own beat unit) from tick 0 to ``tick``.

        A 3/4 bar adds three, a 6/8 bar six; across a meter change the count goes on
        without a jump, so an orbit timed in beats follows the written beat unit.
        """
        tick = np.asarray(tick, dtype=np.float64)
        index = np.clip(np.searchsorted(self._meter_ticks, tick, side="right") - 1, 0, None)
        result = self._meter_beats[index] + (tick - self._meter_ticks[index]) / self._meter_beat_ticks[index]
        return float(result) if result.ndim == 0 else result

    def tick_to_seconds(self, tick):
        return self.tempo.tick_to_seconds(tick)

    def seconds_to_tick(self, seconds):
        return self.tempo.seconds_to_tick(seconds)

    def bar_seconds(self) -> np.ndarray:
        """Seconds of every barline, final barline included."""
        return self.tempo.tick_to_seconds(np.array(self.bar_ticks, dtype=np.float64))

    def beat_seconds(self) -> np.ndarray:
        """Seconds of every beat (downbeats included), up to but not including the final barline.

        In a pickup counted from the end, the beats are those of a full bar that fall inside it.
        """
        ticks = []
        for index in range(len(self.bar_ticks) - 1):
            bar = self.first_bar + index
            step = self.beat_ticks(bar)
            start = Fraction(self.bar_ticks[index])
            end = Fraction(self.bar_ticks[index + 1])
            tick = start
            if self._is_pickup(bar):
                first = self.first_beat(bar)
                tick = start + (-(-first.numerator // first.denominator) - first) * step  # first whole beat inside it
            while tick < end:
                ticks.append(float(tick))
                tick += step
        return self.tempo.tick_to_seconds(np.array(ticks))

    @property
    def end_tick(self) -> int:
        return self.bar_ticks[-1]

    @property
    def duration_s(self) -> float:
        """Seconds from the start to the final barline."""
        return self.tempo.tick_to_seconds(float(self.bar_ticks[-1]))


def track_beats(audio: np.ndarray, sample_rate_hz: int, *, start_bpm: float = 120.0) -> np.ndarray:
    """Beat times of a song in seconds, by librosa's dynamic-programming beat tracker.

    Parameters
    ----------
    audio : ndarray, float32, shape (channels, samples)
        The song; channels are averaged.
    sample_rate_hz : int
        Its sample rate.
    start_bpm : float
        The tracker's prior tempo guess.

    Returns
    -------
    ndarray, float64, shape (B,)
        Increasing beat times in seconds.
    """
    import librosa

    mono = np.asarray(audio, dtype=np.float32).mean(axis=0)
    _, beats = librosa.beat.beat_track(y=mono, sr=sample_rate_hz, start_bpm=start_bpm, units="time", trim=False)
    return np.asarray(beats, dtype=np.float64)


# librosa.beat.beat_track's onset envelope: a mel spectrogram (2048-sample frames, hop
# 512, centred, zero-padded), in dB clipped 80 dB under its loudest bin, then the median
# over mel bands of each band's rise from the frame before.
ONSET_N_FFT = 2048
ONSET_HOP = 512
ONSET_TOP_DB = 80.0
# Frames of the envelope computed at a time: 2048 hops are 22 s at 48 kHz, a 3 MB spectrogram.
ONSET_BLOCK_FRAMES = 2048


def _mel_db_blocks(read_blocks, sample_rate_hz: int, samples: int, block_frames: int):
    """The onset mel spectrogram in dB (no clipping yet), (128, k) blocks of frames in order.

    Frame t is centred on sample t·hop with zeros beyond both ends, as librosa's centred
    STFT frames it; each block is framed from the samples it covers (plus the overlap
    carried over), so no more than one block of audio is held.
    """
    import librosa

    frames = 1 + samples // ONSET_HOP
    span = (block_frames - 1) * ONSET_HOP + ONSET_N_FFT
    buffer = np.zeros(ONSET_N_FFT // 2, dtype=np.float32)
    done = 0

    def spectrum(chunk: np.ndarray) -> np.ndarray:
        mel = librosa.feature.melspectrogram(y=chunk, sr=sample_rate_hz, n_fft=ONSET_N_FFT, hop_length=ONSET_HOP, center=False)
        return librosa.power_to_db(mel, top_db=None)

    def ready(tail: bool):
        nonlocal buffer, done
        while done < frames and (len(buffer) >= span or tail):
            count = min(block_frames, frames - done)
            chunk = buffer[: (count - 1) * ONSET_HOP + ONSET_N_FFT]
            if len(chunk) < (count - 1) * ONSET_HOP + ONSET_N_FFT:
                chunk = np.concatenate([chunk, np.zeros((count - 1) * ONSET_HOP + ONSET_N_FFT - len(chunk), dtype=np.float32)])
            yield spectrum(chunk)
            buffer = buffer[count * ONSET_HOP :]
            done += count

    for block in read_blocks():
        buffer = np.concatenate([buffer, np.asarray(block, dtype=np.float32)])
        yield from ready(tail=False)
    yield from ready(tail=True)


def onset_envelope(read_blocks, sample_rate_hz: int, samples: int, *, block_frames: int = ONSET_BLOCK_FRAMES) -> np.ndarray:
    """librosa's onset strength of a mono signal that is read block by block; float (frames,).

    ``read_blocks()`` returns a new iterator over float32 1-D blocks each call (as
    :func:`dreamreel.core.audio_io.summed_mono_blocks` gives): the audio is read twice,
    once for the loudest mel bin (the 80 dB floor is under it) and once for the envelope.
    What is held is one block of audio and of its spectrogram, and the envelope itself
    (86 values a second at 44.1 kHz). The envelope is ``librosa.onset.onset_strength(y,
    sr, aggregate=np.median)``'s to within float rounding: the mel projection of a block
    of frames may round differently from that of the whole song.
    """
    loudest = -np.inf
    for mel_db in _mel_db_blocks(read_blocks, sample_rate_hz, samples, block_frames):
        loudest = max(loudest, float(mel_db.max()))
    floor = loudest - ONSET_TOP_DB
    rises, previous = [], None
    for mel_db in _mel_db_blocks(read_blocks, sample_rate_hz, samples, block_frames):
        mel_db = np.maximum(mel_db, floor)
        joined = mel_db if previous is None else np.concatenate([previous, mel_db], axis=1)
        rises.append(np.median(np.maximum(0.0, joined[:, 1:] - joined[:, :-1]), axis=0))
        previous = mel_db[:, -1:]
    frames = 1 + samples // ONSET_HOP
    # librosa pads the rises (one per frame after the first) with one frame for the
    # difference and n_fft / (2 hop) for the centring at the start, and cuts to the frames.
    lead = np.zeros(1 + ONSET_N_FFT // (2 * ONSET_HOP))
    return np.concatenate([lead, *rises])[:frames]


# librosa.feature.tempo's defaults: an 8 s autocorrelation window, and its tempogram
# columns summed this many at a time (each column is 8 s of envelope, 6 kB).
TEMPO_AC_SIZE_S = 8.0
TEMPO_BLOCK_FRAMES = 512


def song_tempo_bpm(envelope: np.ndarray, sample_rate_hz: int, *, start_bpm: float = 120.0, block_frames: int = TEMPO_BLOCK_FRAMES) -> np.ndarray:
    """librosa.feature.tempo of an onset envelope, with its tempogram made a block of columns at a time; float (1,).

    The tempogram (an 8 s autocorrelation at every frame, 750 values a frame at 48 kHz) is
    only averaged over time; it is summed block by block instead of being held whole.
    The average is the same to within float rounding (the sum's order differs).
    """
    import librosa

    win_length = int(librosa.time_to_frames(TEMPO_AC_SIZE_S, sr=sample_rate_hz, hop_length=ONSET_HOP))
    frames = len(envelope)
    padded = np.pad(envelope, win_length // 2, mode="linear_ramp", end_values=[0, 0])
    window = librosa.filters.get_window("hann", win_length, fftbins=True)[:, None]
    total = np.zeros(win_length)
    for first in range(0, frames, block_frames):
        last = min(frames, first + block_frames)
        framed = librosa.util.frame(padded[first : last + win_length - 1], frame_length=win_length, hop_length=1)
        total += librosa.util.normalize(librosa.autocorrelate(framed * window, axis=-2), norm=np.inf, axis=-2).sum(axis=-1)
    return librosa.feature.tempo(tg=(total / frames)[:, None], sr=sample_rate_hz, hop_length=ONSET_HOP, start_bpm=start_bpm, aggregate=None)


def track_beats_streamed(read_blocks, sample_rate_hz: int, samples: int, *, start_bpm: float = 120.0) -> np.ndarray:
    """:func:`track_beats` of a mono song read block by block (memory flat in its length); float64 (B,) seconds.

    The onset envelope (:func:`onset_envelope`) and the tempo (:func:`song_tempo_bpm`) are
    made in blocks; the dynamic-programming tracker then runs on the whole envelope, a
    few floats a frame. Both agree with librosa's whole-song computation to within float
    rounding, so the beats are the same unless a rounding tips the tempo estimate or a
    beat's choice (tests/score/test_musical_time.py checks they are equal on test songs).
    """
    import librosa

    envelope = onset_envelope(read_blocks, sample_rate_hz, samples)
    if not envelope.any():
        return np.zeros(0)
    bpm = song_tempo_bpm(envelope, sample_rate_hz, start_bpm=start_bpm)
    _, beats = librosa.beat.beat_track(onset_envelope=envelope, sr=sample_rate_hz, hop_length=ONSET_HOP, bpm=bpm, units="time", trim=False)
    return np.asarray(beats, dtype=np.float64)


def song_clock(audio: np.ndarray, sample_rate_hz: int, *, beats_per_bar: int, where: str = "song") -> MusicalClock:
    """A :class:`MusicalClock` for a finished song: beat tracking plus a bar length in beats."""
    beats = track_beats(audio, sample_rate_hz)
    return MusicalClock.from_beat_times(beats, beats_per_bar=beats_per_bar, duration_s=audio.shape[-1] / sample_rate_hz, where=where)


class ExactClock:
    """Seconds at integer ticks of a score, exactly, as :class:`~fractions.Fraction`.

    The tempo map holds whole microseconds per quarter note and positions are whole ticks,
    so every time in a score is a rational number; a frame that must show the exact
    instant of a note (frame k = round(t·fps)) needs it without floating-point rounding.
    """

    def __init__(self, score: Score):
        self._ticks = [t.tick for t in score.tempos]
        self._rates = [t.us_per_quarter for t in score.tempos]
        self._denominator = score.ticks_per_quarter * 1_000_000
        # Elapsed time at each tempo change, in tick·µs-per-quarter (seconds × the denominator).
        self._elapsed = [0]
        for k in range(1, len(self._ticks)):
            self._elapsed.append(self._elapsed[-1] + (self._ticks[k] - self._ticks[k - 1]) * self._rates[k - 1])

    def seconds(self, tick: int) -> Fraction:
        index = max(0, bisect.bisect_right(self._ticks, tick) - 1)
        return Fraction(self._elapsed[index] + (tick - self._ticks[index]) * self._rates[index], self._denominator)

    def frame(self, tick: int, fps: Fraction) -> int:
        """The frame shown nearest to ``tick``'s instant (see :func:`nearest_frame`)."""
        return nearest_frame(self.seconds(tick), fps)


def nearest_frame(seconds: Fraction, fps: Fraction) -> int:
    """The frame shown nearest to ``seconds``: round(seconds·fps), halves up, exactly."""
    scaled = Fraction(seconds) * fps
    return (2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)
