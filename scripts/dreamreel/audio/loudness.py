"""Loudness (ITU-R BS.1770-4 / EBU R 128), true peak, and normalisation under a peak ceiling.

- :func:`integrated_loudness`: K-weighted, gated mean square over 400 ms blocks with 75 %
  overlap, absolute gate -70 LUFS, relative gate -10 LU. The two K-weighting biquads are
  designed from their analogue parameters, so any sample rate gets the same curve (at
  48 kHz the coefficients equal the table in BS.1770).
- :func:`true_peak_db`: the peak of the signal oversampled 4x (BS.1770 Annex 2).
- :class:`LoudnessMeter`, :class:`TruePeakMeter`: the same two measures on audio that
  arrives block by block (a decoder's output), in constant memory.
- :func:`normalize_stream`: gain to a loudness target, and where that would push the true
  peak over the ceiling, a look-ahead limiter brings the peaks down smoothly instead of
  clipping; on a song read block by block, in constant memory. :func:`normalize` does the
  same to an array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

# K-weighting stage 1: high shelf (head acoustics); stage 2: high pass (RLB weighting).
SHELF_HZ, SHELF_GAIN_DB, SHELF_Q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
HIGHPASS_HZ, HIGHPASS_Q = 38.13547087602444, 0.5003270373238773
BLOCK_S, STEP_S = 0.4, 0.1
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
OVERSAMPLING = 4


def k_weighting_sos(sample_rate_hz: int) -> np.ndarray:
    """The two K-weighting biquads as second-order sections, shape (2, 6)."""
    k = math.tan(math.pi * SHELF_HZ / sample_rate_hz)
    vh = 10.0 ** (SHELF_GAIN_DB / 20.0)
    vb = vh ** 0.4996667741545416
    a0 = 1.0 + k / SHELF_Q + k * k
    shelf = [(vh + vb * k / SHELF_Q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / SHELF_Q + k * k) / a0,
             1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / SHELF_Q + k * k) / a0]
    k = math.tan(math.pi * HIGHPASS_HZ / sample_rate_hz)
    a0 = 1.0 + k / HIGHPASS_Q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / HIGHPASS_Q + k * k) / a0]
    return np.array([shelf, highpass])


class LoudnessMeter:
    """Integrated loudness of audio that arrives block by block (a decoder's output).

    Feed (channels, n) blocks of any size to :meth:`add`; the K-weighting filters carry
    their state from block to block, and only the mean square of each 100 ms step is kept
    (a few floats per second), so a song of any length is measured in constant memory.
    The result equals :func:`integrated_loudness` of the blocks joined.
    """

    def __init__(self, sample_rate_hz: int, channels: int):
        self.sample_rate_hz = int(sample_rate_hz)
        self._sos = k_weighting_sos(self.sample_rate_hz)
        self._block = int(round(BLOCK_S * self.sample_rate_hz))
        self._step = int(round(STEP_S * self.sample_rate_hz))
        self._state = np.zeros((self._sos.shape[0], channels, 2))
        self._leftover = np.zeros((channels, 0))
        self._steps: list[np.ndarray] = []
        self.samples = 0

    def add(self, audio: np.ndarray) -> None:
        """Measure the next (channels, n) samples."""
        from scipy.signal import sosfilt

        self.samples += audio.shape[1]
        weighted, self._state = sosfilt(self._sos, np.asarray(audio, dtype=np.float64), axis=-1, zi=self._state)
        weighted = np.concatenate([self._leftover, weighted], axis=1) if self._leftover.shape[1] else weighted
        whole = weighted.shape[1] // self._step
        if whole:
            self._steps.append((weighted[:, : whole * self._step] ** 2).reshape(weighted.shape[0], whole, self._step).mean(axis=-1))
        self._leftover = weighted[:, whole * self._step :]

    def block_loudness(self) -> np.ndarray:
        """Loudness of each 400 ms block so far (75 % overlap) in LUFS; shape (blocks,)."""
        if self.samples < self._block:
            return np.zeros(0)
        per_step = np.concatenate(self._steps, axis=1)
        # Each block is the mean of four consecutive 100 ms steps.
        kernel = np.ones(self._block // self._step) / (self._block // self._step)
        per_block = np.stack([np.convolve(channel, kernel, mode="valid") for channel in per_step]).sum(axis=0)
        with np.errstate(divide="ignore"):
            return -0.691 + 10.0 * np.log10(per_block)

    def integrated_lufs(self) -> float:
        """Integrated loudness so far in LUFS; ``-inf`` for silence or less than one block."""
        return _gated_loudness(self.block_loudness())


def block_loudness(audio: np.ndarray, sample_rate_hz: int, *, chunk_steps: int = 200) -> np.ndarray:
    """Loudness of each 400 ms block (75 % overlap) in LUFS; shape (blocks,).

    Channel weights are 1.0 for the first three channels (L, R, C), as for stereo and mono.
    The K-weighting runs chunk by chunk (``chunk_steps`` x 100 ms, filter state carried
    over), so the float64 working memory stays small whatever the length of the audio.
    """
    meter = LoudnessMeter(sample_rate_hz, audio.shape[0])
    chunk = chunk_steps * meter._step
    for first in range(0, audio.shape[1], chunk):
        meter.add(audio[:, first : first + chunk])
    return meter.block_loudness()


def integrated_loudness(audio: np.ndarray, sample_rate_hz: int) -> float:
    """Integrated loudness in LUFS; ``-inf`` for silence or audio shorter than one block."""
    return _gated_loudness(block_loudness(audio, sample_rate_hz))


def _gated_loudness(blocks: np.ndarray) -> float:
    """BS.1770 gating of block loudnesses (LUFS): absolute gate, then relative gate."""
    blocks = blocks[blocks > ABSOLUTE_GATE_LUFS]
    if blocks.size == 0:
        return -math.inf
    relative_gate = _power_mean_lufs(blocks) + RELATIVE_GATE_LU
    gated = blocks[blocks > relative_gate]
    return _power_mean_lufs(gated)


def _power_mean_lufs(blocks_lufs: np.ndarray) -> float:
    return float(-0.691 + 10.0 * np.log10(np.mean(10.0 ** ((blocks_lufs + 0.691) / 10.0))))


# Input samples of context on each side of an oversampled chunk: resample_poly's filter
# for 4x reaches about 10 either side, so chunks joined equal the whole signal oversampled.
_OVERSAMPLING_MARGIN = 64
_PEAK_CHUNK_SAMPLES = 1 << 18


def _oversampled_peaks(audio: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Per sample in [start, stop), the largest 4x-oversampled magnitude around it; (stop - start,)."""
    from scipy.signal import resample_poly

    lo, hi = max(0, start - _OVERSAMPLING_MARGIN), min(audio.shape[1], stop + _OVERSAMPLING_MARGIN)
    upsampled = np.abs(resample_poly(np.asarray(audio[:, lo:hi], dtype=np.float64), OVERSAMPLING, 1, axis=-1))
    inner = upsampled[:, (start - lo) * OVERSAMPLING : (stop - lo) * OVERSAMPLING]
    return inner.reshape(audio.shape[0], stop - start, OVERSAMPLING).max(axis=(0, 2))


def oversampled_peak_envelope(audio: np.ndarray, *, chunk_samples: int = _PEAK_CHUNK_SAMPLES) -> np.ndarray:
    """Per original sample, the largest magnitude among its 4x-oversampled neighbours; (samples,).

    Oversampled chunk by chunk, each with a margin wider than the interpolation filter,
    so memory stays small and the result equals oversampling the whole signal at once.
    """
    samples = audio.shape[1]
    envelope = np.empty(samples)
    for start in range(0, samples, chunk_samples):
        stop = min(samples, start + chunk_samples)
        envelope[start:stop] = _oversampled_peaks(audio, start, stop)
    return envelope


class TruePeakMeter:
    """True peak (4x oversampling) of audio that arrives block by block.

    Keeps one chunk plus the filter's margin, so memory is constant; the chunks are those
    of :func:`oversampled_peak_envelope`, so the result equals :func:`true_peak_db` of the
    blocks joined.
    """

    def __init__(self, channels: int, *, chunk_samples: int = _PEAK_CHUNK_SAMPLES):
        self._chunk = chunk_samples
        self._buffer = np.zeros((channels, 0), dtype=np.float32)
        self._measured = 0  # samples of the buffer already measured (the rest wait for context)
        self._peak = 0.0

    def add(self, audio: np.ndarray) -> None:
        """Measure the next (channels, n) samples (once the context after them has arrived)."""
        self._buffer = np.concatenate([self._buffer, np.asarray(audio, dtype=np.float32)], axis=1)
        while self._buffer.shape[1] - self._measured >= self._chunk + _OVERSAMPLING_MARGIN:
            self._peak = max(self._peak, float(_oversampled_peaks(self._buffer, self._measured, self._measured + self._chunk).max()))
            self._measured += self._chunk
            drop = max(0, self._measured - _OVERSAMPLING_MARGIN)
            self._buffer, self._measured = self._buffer[:, drop:], self._measured - drop

    def peak_db(self) -> float:
        """True peak so far in dBTP; ``-inf`` for silence or no audio."""
        if self._buffer.shape[1] > self._measured:
            self._peak = max(self._peak, float(_oversampled_peaks(self._buffer, self._measured, self._buffer.shape[1]).max()))
            self._measured = self._buffer.shape[1]
        return 20.0 * math.log10(self._peak) if self._peak > 0 else -math.inf


def true_peak_db(audio: np.ndarray) -> float:
    """True peak in dBTP (4x oversampling)."""
    meter = TruePeakMeter(audio.shape[0])
    meter.add(audio)
    return meter.peak_db()


def limiter_gain(peak_envelope: np.ndarray, ceiling: float, *, sample_rate_hz: int, lookahead_s: float = 0.02, release_s: float = 0.05) -> np.ndarray:
    """A smooth gain curve that keeps ``peak_envelope * gain <= ceiling`` everywhere.

    The gain each sample needs is spread over a window (a running minimum over
    ``lookahead_s + release_s``) and then smoothed by a moving average no longer than that
    window. Every average then contains only values at or below what the sample itself
    needs, so the ceiling holds exactly, and the gain moves without steps (no clicks).
    Vectorised: no per-sample Python loop.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    with np.errstate(divide="ignore"):
        needed = np.minimum(1.0, ceiling / np.maximum(peak_envelope, 1e-12))
    smooth = max(1, int(lookahead_s * sample_rate_hz)) | 1
    hold = smooth + 2 * int(release_s * sample_rate_hz)
    held = minimum_filter1d(needed, size=hold, mode="nearest")
    return np.minimum(uniform_filter1d(held, size=smooth, mode="nearest"), needed)


@dataclass(frozen=True)
class NormalizeReport:
    """What :func:`normalize` did: loudness before/after in LUFS, true peak after in dBTP,
    the static gain in dB and the most gain reduction the limiter applied, in dB."""

    loudness_in_lufs: float
    loudness_out_lufs: float
    true_peak_out_dbtp: float
    gain_db: float
    limiter_reduction_db: float


def normalize(audio: np.ndarray, sample_rate_hz: int, *, loudness_lufs: float, true_peak_dbtp: float, max_rounds: int = 8) -> tuple[np.ndarray, NormalizeReport]:
    """Bring ``audio`` (channels, samples) to ``loudness_lufs`` with its true peak at most ``true_peak_dbtp``.

    :func:`normalize_stream` on an array held whole; the result is float32.
    """
    def read_blocks():
        return (audio[:, first : first + _PEAK_CHUNK_SAMPLES] for first in range(0, audio.shape[1], _PEAK_CHUNK_SAMPLES))

    normalized, report = normalize_stream(read_blocks, sample_rate_hz, loudness_lufs=loudness_lufs, true_peak_dbtp=true_peak_dbtp,
                                          max_rounds=max_rounds)
    blocks = list(normalized())
    return (np.concatenate(blocks, axis=1) if blocks else np.zeros(audio.shape, dtype=np.float32)), report


def _chunks_with_context(blocks: Iterable[np.ndarray], chunk_samples: int, context: int) -> Iterator[tuple[int, int, np.ndarray, int]]:
    """Fixed chunks of a stream of (channels, n) blocks, each seen with ``context`` samples either side.

    Yields ``(start, stop, window, window_start)``: the chunk is samples [start, stop) of
    the stream, ``window`` holds samples [window_start, min(end, stop + context)) with
    ``window_start = max(0, start - context)``. Only one chunk and its context are held.
    """
    buffer, buffer_start, start, exhausted = None, 0, 0, False
    source = iter(blocks)
    while True:
        while not exhausted and (buffer is None or buffer_start + buffer.shape[1] < start + chunk_samples + context):
            block = next(source, None)
            if block is None:
                exhausted = True
            else:
                buffer = block if buffer is None else np.concatenate([buffer, block], axis=1)
        end = buffer_start + (buffer.shape[1] if buffer is not None else 0)
        if start >= end:
            return
        stop = min(start + chunk_samples, end)
        window_start = max(buffer_start, start - context)
        yield start, stop, buffer[:, window_start - buffer_start : min(end, stop + context) - buffer_start], window_start
        start = stop
        drop = max(0, start - context - buffer_start)
        buffer, buffer_start = buffer[:, drop:], buffer_start + drop


def _limiter_reach(sample_rate_hz: int) -> int:
    """Samples either side of a sample that :func:`limiter_gain` (default times) reads for it, with a margin."""
    smooth = max(1, int(0.02 * sample_rate_hz)) | 1
    hold = smooth + 2 * int(0.05 * sample_rate_hz)
    return hold // 2 + smooth // 2 + 2


class _StreamLimiter:
    """Gain, then :func:`limiter_gain`, applied to a song read chunk by chunk.

    A chunk's limiter gain depends on the peak envelope a limiter's reach either side,
    and the envelope on the samples the oversampling filter reaches; each chunk is read
    with both as context, so the gain equals the whole song's to within the rounding of
    the moving average (its running sum starts at another sample). The loudest envelope
    value of each chunk and its reach is kept from the first pass (a float a chunk), so
    chunks the limiter leaves alone are not oversampled again in later rounds.
    """

    def __init__(self, read_blocks, sample_rate_hz: int, ceiling: float, chunk_samples: int):
        self.read_blocks, self.rate, self.ceiling, self.chunk = read_blocks, int(sample_rate_hz), ceiling, chunk_samples
        self.reach = _limiter_reach(self.rate)
        self.context = self.reach + _OVERSAMPLING_MARGIN
        self.chunk_peaks: list[float] | None = None

    def _envelope(self, window: np.ndarray, window_start: int, start: int, stop: int, song_end: int) -> np.ndarray:
        """The peak envelope over [start − reach, stop + reach), cut to the song."""
        lo, hi = max(0, start - self.reach), min(song_end, stop + self.reach)
        return _oversampled_peaks(window, lo - window_start, hi - window_start)

    def measure_song(self) -> float:
        """The first pass: the song's integrated loudness (LUFS), and each chunk's loudest envelope value kept."""
        meter, peaks = None, []
        for start, stop, window, window_start in _chunks_with_context(self.read_blocks(), self.chunk, self.context):
            meter = meter or LoudnessMeter(self.rate, window.shape[0])
            meter.add(window[:, start - window_start : stop - window_start])
            peaks.append(float(self._envelope(window, window_start, start, stop, self._song_end(window, window_start, stop)).max()))
        self.chunk_peaks = peaks
        return meter.integrated_lufs() if meter is not None else -math.inf

    def _song_end(self, window: np.ndarray, window_start: int, stop: int) -> int:
        """Where the context after a chunk ends: the song's end where it came first, else past the reach."""
        end = window_start + window.shape[1]
        return end if end < stop + self.context else stop + self.context

    def blocks(self, gain: float) -> Iterator[tuple[np.ndarray, float]]:
        """The song times ``gain``, limited: (channels, n) float32 blocks with the least limiter gain in each."""
        for index, (start, stop, window, window_start) in enumerate(_chunks_with_context(self.read_blocks(), self.chunk, self.context)):
            if self.chunk_peaks[index] * gain > self.ceiling:
                lo = max(0, start - self.reach)
                envelope = self._envelope(window, window_start, start, stop, self._song_end(window, window_start, stop))
                limiting = limiter_gain(envelope * gain, self.ceiling, sample_rate_hz=self.rate)[start - lo : stop - lo]
            else:
                # Every sample within the limiter's reach stays under the ceiling: a gain of exactly 1.
                limiting = np.ones(stop - start)
            yield (window[:, start - window_start : stop - window_start] * (gain * limiting)).astype(np.float32), float(limiting.min())


def _measure_blocks(blocks: Iterable[tuple[np.ndarray, float]], sample_rate_hz: int, *, loudness: bool = True, peak: bool = True) -> tuple[float, float, float]:
    """Integrated loudness (LUFS), true peak (dBTP) and least limiter gain of (block, least gain) pairs."""
    meter = true_peak = None
    least = 1.0
    for block, block_least in blocks:
        if loudness:
            meter = meter or LoudnessMeter(sample_rate_hz, block.shape[0])
            meter.add(block)
        if peak:
            true_peak = true_peak or TruePeakMeter(block.shape[0])
            true_peak.add(block)
        least = min(least, block_least)
    return (meter.integrated_lufs() if meter else -math.inf), (true_peak.peak_db() if true_peak else -math.inf), least


def normalize_stream(read_blocks: Callable[[], Iterable[np.ndarray]], sample_rate_hz: int, *, loudness_lufs: float, true_peak_dbtp: float,
                     max_rounds: int = 8, chunk_samples: int = _PEAK_CHUNK_SAMPLES) -> tuple[Callable[[], Iterator[np.ndarray]], NormalizeReport]:
    """Bring a song read block by block to ``loudness_lufs`` with its true peak at most ``true_peak_dbtp``.

    ``read_blocks()`` returns a new iterator over the song's (channels, n) blocks each call
    (a decoder run again, a file read again). The song is read once to measure it, once a
    round of gain and limiting (the limiter lowers the loudness slightly, so the gain is
    corrected until the loudness is within 0.05 LU of the target), once for the true peak
    of the result; a margin of 0.1 dB under the ceiling absorbs the interpolation between
    oversampled and real samples, and an overshoot left is trimmed statically. Memory holds
    a chunk of ``chunk_samples`` and its context, and a float per chunk.

    Returns ``normalized``, which returns a new iterator over the result's float32 blocks
    each call (the song read once more), and the :class:`NormalizeReport`.
    """
    ceiling = 10.0 ** ((true_peak_dbtp - 0.1) / 20.0)
    limiter = _StreamLimiter(read_blocks, sample_rate_hz, ceiling, chunk_samples)
    loudness_in = limiter.measure_song()
    if not math.isfinite(loudness_in):
        raise ValueError("cannot normalise silence")
    gain_db = loudness_lufs - loudness_in
    for _ in range(max_rounds):
        gain = 10.0 ** (gain_db / 20.0)
        loudness_out, _, least = _measure_blocks(limiter.blocks(gain), sample_rate_hz, peak=False)
        miss = loudness_lufs - loudness_out
        if abs(miss) < 0.05:
            break
        gain_db += miss
    _, peak_out, _ = _measure_blocks(limiter.blocks(gain), sample_rate_hz, loudness=False)
    trim = None
    if peak_out > true_peak_dbtp:
        # Interpolation between samples can still overshoot by a hair: trim it statically.
        trim = 10.0 ** ((true_peak_dbtp - 0.05 - peak_out) / 20.0)
        trimmed = (((block * trim).astype(np.float32), block_least) for block, block_least in limiter.blocks(gain))
        loudness_out, peak_out, _ = _measure_blocks(trimmed, sample_rate_hz)

    def normalized() -> Iterator[np.ndarray]:
        for block, _ in limiter.blocks(gain):
            yield block if trim is None else (block * trim).astype(np.float32)

    reduction = -20.0 * math.log10(least)
    return normalized, NormalizeReport(loudness_in, loudness_out, peak_out, gain_db, reduction)
