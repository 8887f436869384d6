"""Audio features at the video frame instants: what the latent walk reacts to.

Every feature is analysed on a fine grid (a hop of 256 samples, about 12 ms at 22.05 kHz,
finer than any video frame up to 60 fps) and then pooled onto the video frames: frame k
gets the values inside [k - 1/2, k + 1/2) / fps, so each value describes the instant
k/fps at which the frame is shown. Energy-like features are averaged over that window;
onset strength takes its maximum so a drum hit shorter than a frame is not averaged away.

Normalisation is local. A peak follower (instant attack, exponential release of
``norm_release_s``) divides each feature, so a value of 1 means "as strong as anything in
the last few seconds". The follower looks only backwards: the first 20 s of a song give
the same features whether the song is 20 s or 3 minutes long, so a preview looks like the
same stretch of the full render (whole-song normalisation, as in the visualizers we
replace, changes a passage when anything louder is added later). Frames whose level is
below ``gate_dbfs`` are gated to zero, which is also what keeps silence from being blown up
into noise or NaN.

Memory is flat in the song's length. The song streams in (:func:`analyze_blocks`): it is
resampled block by block, analysed a block of fine frames at a time with the context each
transform needs, and each block is pooled onto the video frames as soon as it is done.
What grows with the song is only the per-frame output, a few dozen floats a frame. Every
step gives the same numbers as the whole-song computation, to the bit.

Per part (:func:`analyze_part_blocks`): when the inputs are named stems, each one also gets
its bands, onset strength and RMS, computed and normalised as the summed ones are, so the
pictures can tell the marimba's hits from the vibraphone's. Only the mel spectrogram is
computed per part (no chroma, no HPSS, the costly transforms), streaming the same way.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from fractions import Fraction
from typing import BinaryIO, Callable, Iterable, Iterator

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.core.timing import frame_count, parse_fps

# Fine analysis hop in samples. A multiple of 2**6 so the 7-octave CQT can decimate.
ANALYSIS_HOP = 256
# STFT size for mel power, bands and HPSS: 93 ms at 22.05 kHz resolves bass notes.
N_FFT = 2048
N_MELS = 128
# HPSS median-filter length in fine frames (~0.36 s) and bins.
HPSS_KERNEL = 31
# STFT frames analysed at once (~24 s at 22.05 kHz): bounds memory for long songs.
STFT_BLOCK = 2048
# Samples per block when a song in memory is fed to the streaming analysis.
MONO_BLOCK_SAMPLES = 1 << 16
# Audio on each side of a chroma block: well beyond the longest CQT filter (~0.5 s at C1).
CHROMA_CONTEXT_S = 2.0
# Width of the soft gate above gate_dbfs: a frame 6 dB over the gate counts fully.
GATE_KNEE_DB = 6.0
# Anything quieter than this everywhere is a silent file, not music.
SILENT_DBFS = -90.0


FEATURE_KEYS = ("power", "power_gradient", "bands", "chroma", "onset", "percussive", "harmonic", "rms")
PART_FEATURE_KEYS = ("bands", "onset", "rms")


def pool_to_frames(values: np.ndarray, *, hop_s: Fraction, fps: Fraction, n_frames: int, mode: str) -> np.ndarray:
    """Pool a fine-grid feature onto video frames.

    Parameters
    ----------
    values : ndarray, shape (..., T)
        Feature on the fine grid; fine frame j is centred at j·hop_s seconds.
    hop_s : Fraction
        Fine-grid hop in seconds (exact).
    fps : Fraction
        Video frame rate.
    n_frames : int
        Number of video frames N.
    mode : {"mean", "max"}
        How the fine frames inside a video frame's window combine.

    Returns
    -------
    ndarray, shape (..., N)
        Frame k pools the fine frames centred in [(k - 1/2)/fps, (k + 1/2)/fps); a window
        holding no fine frame takes the next one.
    """
    low, high = _frame_windows(values.shape[-1], hop_s=hop_s, fps=fps, n_frames=n_frames)
    return _reduce_windows(values, low, high, first=0, pad_end=True, mode=mode)


def _frame_windows(count: int, *, hop_s: Fraction, fps: Fraction, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Fine-frame windows [low_k, high_k) of the video frames k < n_frames; two (N,) int arrays."""
    # Window k is [b_k, b_k+1) with b_k the first fine index j such that j·hop_s >= (k - 1/2)/fps,
    # in exact integer arithmetic.
    k = np.arange(n_frames + 1, dtype=np.int64)
    num = (2 * k - 1) * fps.denominator * hop_s.denominator
    den = 2 * fps.numerator * hop_s.numerator
    bounds = np.clip(-((-num) // den), 0, count)
    low = np.minimum(bounds[:-1], count - 1)
    high = np.maximum(bounds[1:], low + 1)
    return low, high


def _reduce_windows(values: np.ndarray, low: np.ndarray, high: np.ndarray, *, first: int, pad_end: bool, mode: str) -> np.ndarray:
    """Mean or max of ``values`` over the windows [low_k, high_k); ``values[..., 0]`` is fine frame ``first``.

    Without ``pad_end``, every high_k must be an index inside ``values``; with it, high_k
    may also be one past the last fine frame (the end of the song).
    """
    # reduceat over the pairs (low_k, high_k) reduces exactly [low_k, high_k); a copy of the
    # last sample at the end makes high_k = count a valid index.
    padded = np.concatenate([values, values[..., -1:]], axis=-1) if pad_end else values
    pairs = np.stack([low - first, high - first], axis=1).reshape(-1)
    reduce = np.add if mode == "mean" else np.maximum
    pooled = reduce.reduceat(padded, pairs, axis=-1)[..., ::2]
    if mode == "mean":
        pooled = pooled / (high - low)
    return pooled


class _FramePooler:
    """:func:`pool_to_frames` for a feature whose fine frames arrive a block at a time.

    A video frame is pooled as soon as the fine frames of its window (and the one after
    it) have arrived, and fine frames no later window needs are dropped: only a block's
    worth is ever held, and the result equals pooling the whole song at once.
    """

    def __init__(self, *, count: int, hop_s: Fraction, fps: Fraction, n_frames: int, mode: str):
        self.count, self.mode = count, mode
        self._low, self._high = _frame_windows(count, hop_s=hop_s, fps=fps, n_frames=n_frames)
        self._pending: np.ndarray | None = None
        self._first = 0  # fine index of self._pending[..., 0]
        self._done = 0  # video frames pooled so far
        # Allocated at its full size (N frames) with the first pooled block: no pieces to
        # join, and so no second copy, at the end.
        self._pooled: np.ndarray | None = None

    def add(self, values: np.ndarray) -> None:
        """The next fine frames, shape (..., n)."""
        pending = values if self._pending is None else np.concatenate([self._pending, values], axis=-1)
        arrived = self._first + pending.shape[-1]
        if arrived > self.count:
            raise ValueError(f"{arrived} fine frames given, {self.count} expected")
        at_end = arrived == self.count
        # Windows ending before the last arrived frame can be pooled; at the end, all of them.
        ready = len(self._low) if at_end else int(np.searchsorted(self._high, arrived - 1, side="right"))
        if ready > self._done:
            low, high = self._low[self._done : ready], self._high[self._done : ready]
            pooled = _reduce_windows(pending, low, high, first=self._first, pad_end=at_end, mode=self.mode)
            if self._pooled is None:
                self._pooled = np.empty(pooled.shape[:-1] + (len(self._low),), dtype=pooled.dtype)
            self._pooled[..., self._done : ready] = pooled
            self._done = ready
        keep_from = int(self._low[self._done]) if self._done < len(self._low) else arrived
        self._pending = pending[..., keep_from - self._first :].copy()
        self._first = keep_from

    def result(self) -> np.ndarray:
        """The pooled feature, shape (..., N), once every fine frame has arrived."""
        if self._done != len(self._low):
            raise ValueError(f"only {self._first + self._pending.shape[-1] if self._pending is not None else 0} of {self.count} fine frames arrived")
        return self._pooled


def peak_normalise(values: np.ndarray, *, fps: Fraction, release_s: float) -> np.ndarray:
    """Divide by a causal peak follower: instant attack, exponential release.

    Parameters
    ----------
    values : ndarray, shape (N,) or (N, C)
        Non-negative feature per video frame.
    fps : Fraction
        Frame rate, to turn ``release_s`` into a per-frame decay.
    release_s : float
        Time for the follower to fall to 1/e after a peak.

    Returns
    -------
    ndarray, same shape, values in [0, 1]; 0 where the follower is 0.
    """
    follow = values
    decay = math.exp(-1.0 / (float(fps) * release_s))
    peak = np.empty_like(follow, dtype=np.float64)
    level = np.zeros(follow.shape[1:], dtype=np.float64)
    for k in range(follow.shape[0]):
        level = np.maximum(follow[k], level * decay)
        peak[k] = level
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(peak > 0, values / np.where(peak > 0, peak, 1.0), 0.0)
    return np.clip(ratio, 0.0, 1.0)


class _SampleWindow:
    """Samples [lo, hi) of a stream of 1-D float32 blocks whose total length is known.

    The analysis walks through the song in blocks that each need some audio before and
    after them; this keeps just that span, pulling blocks from the stream as a later span
    is asked for and dropping what no later block will read (:meth:`forget_before`).
    Positions outside [0, length) read as zeros, as if the song were zero-padded; a stream
    longer than ``length`` is cut there, a shorter one padded with zeros (librosa's
    ``fix_length`` after resampling).
    """

    def __init__(self, blocks: Iterable[np.ndarray], length: int):
        self.length = int(length)
        self._blocks = iter(blocks)
        self._buffer = np.zeros(0, dtype=np.float32)
        self._offset = 0  # stream position of self._buffer[0]
        self._exhausted = False

    def _fill(self, position: int) -> None:
        pieces, end = [self._buffer], self._offset + len(self._buffer)
        while end < position and not self._exhausted:
            block = next(self._blocks, None)
            if block is None:
                self._exhausted = True
                break
            pieces.append(np.asarray(block, dtype=np.float32))
            end += len(block)
        if len(pieces) > 1:
            self._buffer = np.concatenate(pieces)

    def take(self, lo: int, hi: int) -> np.ndarray:
        """A float32 copy of samples [lo, hi), zeros outside the song."""
        if max(lo, 0) < self._offset:
            raise ValueError(f"samples before {self._offset} were already dropped (asked for {lo})")
        self._fill(min(hi, self.length))
        out = np.zeros(hi - lo, dtype=np.float32)
        first, last = max(lo, 0), min(hi, self.length, self._offset + len(self._buffer))
        if last > first:
            out[first - lo : last - lo] = self._buffer[first - self._offset : last - self._offset]
        return out

    def forget_before(self, position: int) -> None:
        """Drop the samples before ``position``: no later :meth:`take` reads them."""
        drop = min(max(0, position - self._offset), len(self._buffer))
        if drop:
            self._buffer = self._buffer[drop:].copy()
            self._offset += drop


def _resampled(blocks: Iterable[np.ndarray], rate_in_hz: int, rate_out_hz: int) -> Iterator[np.ndarray]:
    """Resample a stream of mono blocks with soxr's streaming resampler (HQ).

    Block by block, its output equals ``librosa.resample(..., res_type="soxr_hq")`` of the
    whole signal (same library, same filter), so the features do not depend on block size.
    """
    import soxr

    stream = soxr.ResampleStream(rate_in_hz, rate_out_hz, 1, dtype="float32", quality="HQ")
    previous = None
    for block in blocks:
        if previous is not None:
            yield stream.resample_chunk(previous, last=False)
        previous = np.asarray(block, dtype=np.float32)
    if previous is not None:
        # The last block flushes the filter's delay line.
        yield stream.resample_chunk(previous, last=True)


def _spectral_block(window: _SampleWindow, start: int, stop: int, count: int, *, mel_basis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mel power and HPSS harmonic/percussive energy of fine frames [start, stop).

    The STFT of a whole song would be the largest thing analysis holds, so it is computed
    a block of frames at a time. HPSS median-filters over ``HPSS_KERNEL`` frames, so each
    block carries half a kernel of neighbours on each side: the result equals that of one
    whole-song STFT. Frames are centred at j·ANALYSIS_HOP like ``librosa.stft(center=True)``
    with zero padding.

    Returns
    -------
    mel : ndarray (N_MELS, stop - start)
    harmonic, percussive : ndarray (stop - start,)
        Energy of the HPSS parts per frame.
    mean_square : ndarray (stop - start,)
        Mean square of the samples under each frame's window (the same window as the
        spectra, so levels line up), from a running sum over the block.
    """
    import librosa

    context = HPSS_KERNEL // 2 + 1
    low, high = max(0, start - context), min(count, stop + context)
    # Frame j's window starts N_FFT/2 before its centre j·ANALYSIS_HOP.
    chunk = window.take(low * ANALYSIS_HOP - N_FFT // 2, (high - 1) * ANALYSIS_HOP + N_FFT // 2)
    magnitude = np.abs(librosa.stft(chunk, n_fft=N_FFT, hop_length=ANALYSIS_HOP, center=False))
    keep = slice(start - low, stop - low)
    mel = mel_basis @ (magnitude[:, keep] ** 2)
    harmonic_mag, percussive_mag = librosa.decompose.hpss(magnitude, kernel_size=HPSS_KERNEL)
    harmonic = (harmonic_mag[:, keep] ** 2).sum(axis=0).astype(np.float64)
    percussive = (percussive_mag[:, keep] ** 2).sum(axis=0).astype(np.float64)
    sums = np.concatenate([[0.0], np.cumsum(chunk.astype(np.float64) ** 2)])
    offsets = np.arange(start - low, stop - low) * ANALYSIS_HOP
    mean_square = np.maximum(sums[offsets + N_FFT] - sums[offsets], 0.0) / N_FFT
    return mel, harmonic, percussive, mean_square


def _chroma_block(window: _SampleWindow, start: int, stop: int, count: int, *, sample_rate_hz: int) -> np.ndarray:
    """12-bin CQT chroma of fine frames [start, stop); shape (12, stop - start).

    The CQT of a whole song holds several song-length spectra at once, so it runs on a
    block of frames with ``CHROMA_CONTEXT_S`` of audio on each side, longer than the lowest
    CQT filter, so the blocks join seamlessly. Tuning is fixed at A = 440 Hz: librosa's
    default estimates it from whatever audio it is given, which would make the chroma of a
    passage depend on the rest of the song.
    """
    import librosa

    context = _chroma_context_frames(sample_rate_hz)
    low, high = max(0, start - context), min(count, stop + context)
    # The last block keeps the samples after its last frame centre, as the whole song would.
    block = window.take(low * ANALYSIS_HOP, (high - 1) * ANALYSIS_HOP + 1 if high < count else window.length)
    with warnings.catch_warnings():
        # Short blocks make librosa warn that its decimated octaves are shorter than
        # n_fft; the chroma is still right, only zero-padded there.
        warnings.simplefilter("ignore", UserWarning)
        values = librosa.feature.chroma_cqt(y=block, sr=sample_rate_hz, hop_length=ANALYSIS_HOP, tuning=0.0)
    return values[:, start - low : stop - low].astype(np.float32)


def _chroma_context_frames(sample_rate_hz: int) -> int:
    return int(round(CHROMA_CONTEXT_S * sample_rate_hz / ANALYSIS_HOP))


def _pool_onset_strength(mel_rows: BinaryIO, count: int, pooler: _FramePooler, *, floor_db: np.float32, sample_rate_hz: int) -> None:
    """librosa's onset strength of the whole mel spectrogram in dB, a block at a time, into ``pooler``.

    ``mel_rows`` holds the mel power as float32 rows, one per fine frame. The dB values are
    floored at ``floor_db`` (80 dB under the song's loudest mel value, librosa's top_db),
    which is only known once every block has been analysed: hence the second pass. Frame t
    compares frames t - 5 and t - 4 (lag 1, shifted by n_fft / (2 hop) for centring), so
    each block rereads the five frames before it.
    """
    import librosa

    reach = 1 + 2048 // (2 * ANALYSIS_HOP)  # librosa's lag + centring shift, in frames
    row_bytes = N_MELS * 4
    for start in range(0, count, STFT_BLOCK):
        stop = min(start + STFT_BLOCK, count)
        first = max(0, start - reach)
        mel_rows.seek(first * row_bytes)
        mel = np.frombuffer(mel_rows.read((stop - first) * row_bytes), dtype=np.float32).reshape(stop - first, N_MELS)
        # C order (bins, frames) as the whole-song array had, so every sum adds in the same order.
        db = np.maximum(librosa.power_to_db(np.ascontiguousarray(mel.T), ref=1.0, top_db=None), floor_db)
        pooler.add(librosa.onset.onset_strength(S=db, sr=sample_rate_hz, hop_length=ANALYSIS_HOP)[start - first :])


def _frame_features(window: _SampleWindow, *, sample_rate_hz: int, mel_basis: np.ndarray, band_masks: list[np.ndarray],
                    fps: Fraction, n_frames: int) -> dict[str, np.ndarray]:
    """Every feature pooled onto the video frames, computed a block of fine frames at a time.

    Fine frames (hop ``ANALYSIS_HOP``) are pooled as each block is done, so what is held
    is one block of audio and spectra plus the per-frame results. The mel spectrogram (128
    floats a fine frame) goes to a temporary file for the onset pass, not into memory.

    Returns
    -------
    dict of str to ndarray
        ``power``, ``mean_square``, ``harmonic``, ``percussive`` (N,), ``onset`` (N,) (the
        maximum over each frame's window, the others the mean), ``bands`` (3, N), ``chroma`` (12, N).
    """
    import librosa

    count = 1 + window.length // ANALYSIS_HOP
    hop_s = Fraction(ANALYSIS_HOP, sample_rate_hz)
    context = max(_chroma_context_frames(sample_rate_hz), HPSS_KERNEL // 2 + 1)
    pools = {key: _FramePooler(count=count, hop_s=hop_s, fps=fps, n_frames=n_frames, mode="max" if key == "onset" else "mean")
             for key in ("power", "bands", "harmonic", "percussive", "mean_square", "chroma", "onset")}
    loudest_db = None
    with tempfile.TemporaryFile(prefix="dreamreel-mel-") as mel_rows:
        for start in range(0, count, STFT_BLOCK):
            stop = min(start + STFT_BLOCK, count)
            mel, harmonic, percussive, mean_square = _spectral_block(window, start, stop, count, mel_basis=mel_basis)
            pools["chroma"].add(_chroma_block(window, start, stop, count, sample_rate_hz=sample_rate_hz))
            # The next block reads from its context before `stop` on (the CQT reaches furthest back).
            window.forget_before(max(0, stop - context) * ANALYSIS_HOP - N_FFT // 2)
            pools["power"].add(mel.mean(axis=0))
            pools["bands"].add(np.stack([mel[mask].mean(axis=0) if mask.any() else np.zeros(mel.shape[1]) for mask in band_masks]))
            pools["harmonic"].add(harmonic)
            pools["percussive"].add(percussive)
            pools["mean_square"].add(mean_square)
            block_db = librosa.power_to_db(mel, ref=1.0, top_db=None).max()
            loudest_db = block_db if loudest_db is None else max(loudest_db, block_db)
            mel_rows.write(np.ascontiguousarray(mel.T, dtype=np.float32).tobytes())
        _pool_onset_strength(mel_rows, count, pools["onset"], floor_db=loudest_db - 80.0, sample_rate_hz=sample_rate_hz)
    return {key: pool.result() for key, pool in pools.items()}


def analyze(audio: np.ndarray, *, sample_rate_hz: int, params: dict, where: str = "audio", params_where: str = "params.yaml: features") -> dict[str, np.ndarray]:
    """Compute the GAN features of a song held in memory; see :func:`analyze_blocks`.

    Parameters
    ----------
    audio : ndarray, float32, shape (channels, samples)
        The master mix, full scale ±1; the channels are averaged.
    sample_rate_hz : int
        Its sample rate.
    params : dict
        The ``features`` section (see :data:`FEATURES`), defaults filled in.
    where : str
        Name of the audio file, for error messages.
    params_where : str
        The features section as messages name it (``"<the user's params file>: features"``).
    """
    parse_fps(params["fps"], where=f"{params_where}.fps")
    if audio.ndim != 2 or audio.shape[1] == 0:
        raise DreamreelError(where, "contains no audio samples", "check the file")
    mono = audio[0] if audio.shape[0] == 1 else audio.mean(axis=0, dtype=np.float32)

    def blocks() -> Iterator[np.ndarray]:
        for first in range(0, len(mono), MONO_BLOCK_SAMPLES):
            yield mono[first : first + MONO_BLOCK_SAMPLES]

    return analyze_blocks(blocks, samples=audio.shape[1], sample_rate_hz=sample_rate_hz, params=params, where=where, params_where=params_where)


def analyze_blocks(read_blocks: Callable[[], Iterable[np.ndarray]], *, samples: int, sample_rate_hz: int, params: dict, where: str = "audio",
                   params_where: str = "params.yaml: features") -> dict[str, np.ndarray]:
    """Compute the GAN features of a song that streams in, block by block, in constant memory.

    Parameters
    ----------
    read_blocks : callable
        Returns a fresh iterable over the mono song, float32 1-D blocks of any size
        (full scale ±1). It is called twice: once to check the song is finite and not
        silent (an hour of silence is refused without analysing it), once to analyse it.
    samples : int
        Length of the song in samples (all blocks together).
    sample_rate_hz : int
        Its sample rate.
    params : dict
        The ``features`` section (see :data:`FEATURES`), defaults filled in.
    where : str
        Name of the audio file, for error messages.
    params_where : str
        The features section as messages name it (``"<the user's params file>: features"``).

    Returns
    -------
    dict of str to ndarray
        With N = ceil(duration × fps) frames: ``power``, ``power_gradient``, ``onset``,
        ``percussive``, ``harmonic``, ``rms`` (N,); ``bands`` (N, 3) low/mid/high;
        ``chroma`` (N, 12) C, C#, ..., B; all float32 in [0, 1]. Also ``rms_dbfs`` (N,)
        unnormalised level, ``gate`` (N,) 0 for silent frames, and metadata ``fps_num``,
        ``fps_den``, ``n_frames``, ``duration_s``, ``sample_rate_hz``, ``band_edges_hz``.
    """
    fps = parse_fps(params["fps"], where=f"{params_where}.fps")
    if samples == 0:
        raise DreamreelError(where, "contains no audio samples", "check the file")
    if samples * fps.numerator < sample_rate_hz * fps.denominator:
        raise DreamreelError(
            where,
            f"audio is {samples / sample_rate_hz * 1000:.1f} ms long, shorter than one video frame ({1000 / float(fps):.1f} ms)",
            "give a longer song",
        )
    n_frames = frame_count(samples, sample_rate_hz, fps)

    peak = 0.0
    for block in read_blocks():
        if not np.all(np.isfinite(block)):
            raise DreamreelError(where, "contains NaN or infinite samples", "re-export the audio")
        if len(block):
            peak = max(peak, float(np.max(np.abs(block))))
    peak_dbfs = 20 * math.log10(max(peak, 1e-12))
    if peak_dbfs < SILENT_DBFS:
        raise DreamreelError(where, f"the song is silent (peak {peak_dbfs:.0f} dBFS)", "render or choose a song with sound in it")

    window, rate, mel_basis, band_masks = _analysis_input(read_blocks, samples=samples, sample_rate_hz=sample_rate_hz, params=params)
    low_edge, high_edge = (float(v) for v in params["band_edges_hz"])
    frames = _frame_features(window, sample_rate_hz=rate, mel_basis=mel_basis, band_masks=band_masks, fps=fps, n_frames=n_frames)

    power_frames = frames["power"]
    mean_square = frames["mean_square"]
    rms_dbfs, gate = _level_and_gate(mean_square, gate_dbfs=float(params["gate_dbfs"]))
    if not np.any(gate > 0):
        raise DreamreelError(
            where,
            f"the song is silent: its loudest frame is {rms_dbfs.max():.0f} dBFS, below the gate ({params['gate_dbfs']:g} dBFS)",
            "use a louder mix or lower features.gate_dbfs",
        )

    def normalise(values: np.ndarray) -> np.ndarray:
        return _normalised(values, gate, fps=fps, release_s=float(params["norm_release_s"]))

    # Central difference like numpy.gradient: the rise into frame k, in power per frame.
    gradient = np.gradient(power_frames) if n_frames > 1 else np.zeros(1)

    chroma = frames["chroma"].T
    chroma_peak = chroma.max(axis=1, keepdims=True)
    chroma = np.where(chroma_peak > 0, chroma / np.where(chroma_peak > 0, chroma_peak, 1.0), 0.0) * gate[:, None]

    result = {
        "power": normalise(power_frames),
        "power_gradient": normalise(np.maximum(gradient, 0.0)),
        "bands": normalise(frames["bands"].T),
        "chroma": chroma.astype(np.float32),
        "onset": normalise(frames["onset"]),
        "percussive": normalise(frames["percussive"]),
        "harmonic": normalise(frames["harmonic"]),
        "rms": normalise(np.sqrt(mean_square)),
        "rms_dbfs": rms_dbfs.astype(np.float32),
        "gate": gate.astype(np.float32),
        "fps_num": np.int64(fps.numerator),
        "fps_den": np.int64(fps.denominator),
        "n_frames": np.int64(n_frames),
        "duration_s": np.float64(samples / sample_rate_hz),
        "sample_rate_hz": np.int64(sample_rate_hz),
        "band_edges_hz": np.asarray([low_edge, high_edge], dtype=np.float64),
    }
    for key in FEATURE_KEYS:
        if not np.all(np.isfinite(result[key])):
            raise AssertionError(f"feature {key} is not finite")
    return result


def _analysis_input(read_blocks: Callable[[], Iterable[np.ndarray]], *, samples: int, sample_rate_hz: int, params: dict):
    """The song at the analysis rate as a :class:`_SampleWindow`, that rate, the mel filters and the band masks."""
    import librosa

    rate = int(params["analysis_rate_hz"])
    if rate != sample_rate_hz:
        # librosa.resample's length: its output is cut or zero-padded to exactly this.
        window = _SampleWindow(_resampled(read_blocks(), sample_rate_hz, rate), int(np.ceil(samples * (float(rate) / sample_rate_hz))))
    else:
        window = _SampleWindow(read_blocks(), samples)
    fmax = min(float(params["mel_fmax_hz"]), rate / 2)
    mel_basis = librosa.filters.mel(sr=rate, n_fft=N_FFT, n_mels=N_MELS, fmax=fmax)
    mel_hz = librosa.mel_frequencies(n_mels=N_MELS, fmax=fmax)
    low_edge, high_edge = (float(v) for v in params["band_edges_hz"])
    band_masks = [mel_hz < low_edge, (mel_hz >= low_edge) & (mel_hz < high_edge), mel_hz >= high_edge]
    return window, rate, mel_basis, band_masks


def _level_and_gate(mean_square: np.ndarray, *, gate_dbfs: float) -> tuple[np.ndarray, np.ndarray]:
    """RMS level in dBFS per frame, and the soft gate: 0 below ``gate_dbfs``, 1 from GATE_KNEE_DB above it."""
    rms_dbfs = 10 * np.log10(np.maximum(mean_square, 1e-12))
    return rms_dbfs, np.clip((rms_dbfs - gate_dbfs) / GATE_KNEE_DB, 0.0, 1.0)


def _normalised(values: np.ndarray, gate: np.ndarray, *, fps: Fraction, release_s: float) -> np.ndarray:
    """``values`` divided by their rolling peak, then gated; float32."""
    scaled = peak_normalise(values, fps=fps, release_s=release_s)
    gain = gate if scaled.ndim == 1 else gate[:, None]
    return (scaled * gain).astype(np.float32)


def _part_frame_features(window: _SampleWindow, *, sample_rate_hz: int, mel_basis: np.ndarray, band_masks: list[np.ndarray],
                         fps: Fraction, n_frames: int) -> dict[str, np.ndarray]:
    """Bands, mean square and onset strength of one part, pooled onto the video frames, a block at a time.

    The same fine frames, windows and pooling as :func:`_frame_features`, with only the
    STFT (no HPSS, so no neighbouring frames are needed, and no chroma).
    """
    import librosa

    count = 1 + window.length // ANALYSIS_HOP
    hop_s = Fraction(ANALYSIS_HOP, sample_rate_hz)
    pools = {key: _FramePooler(count=count, hop_s=hop_s, fps=fps, n_frames=n_frames, mode="max" if key == "onset" else "mean")
             for key in ("bands", "mean_square", "onset")}
    loudest_db = None
    with tempfile.TemporaryFile(prefix="dreamreel-part-mel-") as mel_rows:
        for start in range(0, count, STFT_BLOCK):
            stop = min(start + STFT_BLOCK, count)
            chunk = window.take(start * ANALYSIS_HOP - N_FFT // 2, (stop - 1) * ANALYSIS_HOP + N_FFT // 2)
            window.forget_before(stop * ANALYSIS_HOP - N_FFT // 2)
            mel = mel_basis @ (np.abs(librosa.stft(chunk, n_fft=N_FFT, hop_length=ANALYSIS_HOP, center=False)) ** 2)
            sums = np.concatenate([[0.0], np.cumsum(chunk.astype(np.float64) ** 2)])
            offsets = np.arange(stop - start) * ANALYSIS_HOP
            pools["mean_square"].add(np.maximum(sums[offsets + N_FFT] - sums[offsets], 0.0) / N_FFT)
            pools["bands"].add(np.stack([mel[mask].mean(axis=0) if mask.any() else np.zeros(mel.shape[1]) for mask in band_masks]))
            block_db = librosa.power_to_db(mel, ref=1.0, top_db=None).max()
            loudest_db = block_db if loudest_db is None else max(loudest_db, block_db)
            mel_rows.write(np.ascontiguousarray(mel.T, dtype=np.float32).tobytes())
        _pool_onset_strength(mel_rows, count, pools["onset"], floor_db=loudest_db - 80.0, sample_rate_hz=sample_rate_hz)
    return {key: pool.result() for key, pool in pools.items()}


def analyze_part_blocks(read_blocks: Callable[[], Iterable[np.ndarray]], *, samples: int, sample_rate_hz: int, params: dict,
                        params_where: str = "params.yaml: features") -> dict[str, np.ndarray]:
    """Bands, onset strength and RMS of one part (one stem), in constant memory.

    Parameters
    ----------
    read_blocks : callable
        Returns a fresh iterable over the part's mono samples, float32 1-D blocks.
    samples, sample_rate_hz : int
        Its length and rate: those of the summed analysis, so the frames are the same.
    params : dict
        The ``features`` section, defaults filled in.
    params_where : str
        The features section as messages name it.

    Returns
    -------
    dict of str to ndarray
        ``bands`` (N, 3), ``onset`` (N,), ``rms`` (N,), float32 in [0, 1], each normalised
        and gated as the summed features are, by the part's own peaks and level: a part
        that is silent for a while reads 0 there, and a silent part 0 throughout.
    """
    fps = parse_fps(params["fps"], where=f"{params_where}.fps")
    n_frames = frame_count(samples, sample_rate_hz, fps)
    window, rate, mel_basis, band_masks = _analysis_input(read_blocks, samples=samples, sample_rate_hz=sample_rate_hz, params=params)
    frames = _part_frame_features(window, sample_rate_hz=rate, mel_basis=mel_basis, band_masks=band_masks, fps=fps, n_frames=n_frames)
    _, gate = _level_and_gate(frames["mean_square"], gate_dbfs=float(params["gate_dbfs"]))
    release = float(params["norm_release_s"])
    return {
        "bands": _normalised(frames["bands"].T, gate, fps=fps, release_s=release),
        "onset": _normalised(frames["onset"], gate, fps=fps, release_s=release),
        "rms": _normalised(np.sqrt(frames["mean_square"]), gate, fps=fps, release_s=release),
    }
