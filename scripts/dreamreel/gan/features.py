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
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

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
# Audio on each side of a chroma block: well beyond the longest CQT filter (~0.5 s at C1).
CHROMA_CONTEXT_S = 2.0
# Width of the soft gate above gate_dbfs: a frame 6 dB over the gate counts fully.
GATE_KNEE_DB = 6.0
# Anything quieter than this everywhere is a silent file, not music.
SILENT_DBFS = -90.0


FEATURE_KEYS = ("power", "power_gradient", "bands", "chroma", "onset", "percussive", "harmonic", "rms")


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
    count = values.shape[-1]
    # Window k is [b_k, b_k+1) with b_k the first fine index j such that j·hop_s >= (k - 1/2)/fps,
    # in exact integer arithmetic.
    k = np.arange(n_frames + 1, dtype=np.int64)
    num = (2 * k - 1) * fps.denominator * hop_s.denominator
    den = 2 * fps.numerator * hop_s.numerator
    bounds = np.clip(-((-num) // den), 0, count)
    low = np.minimum(bounds[:-1], count - 1)
    high = np.maximum(bounds[1:], low + 1)
    # reduceat over the pairs (low_k, high_k) reduces exactly [low_k, high_k); a copy of the
    # last sample at the end makes high_k = count a valid index.
    padded = np.concatenate([values, values[..., -1:]], axis=-1)
    pairs = np.stack([low, high], axis=1).reshape(-1)
    reduce = np.add if mode == "mean" else np.maximum
    pooled = reduce.reduceat(padded, pairs, axis=-1)[..., ::2]
    if mode == "mean":
        pooled = pooled / (high - low)
    return pooled


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


def _spectral_envelopes(mono: np.ndarray, *, mel_basis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mel power and HPSS harmonic/percussive energy on the fine grid, a block at a time.

    The STFT of a whole song is the largest thing analysis would hold (about 130 MB for
    3 minutes), so it is computed in blocks of ``STFT_BLOCK`` frames. HPSS median-filters
    over ``HPSS_KERNEL`` frames, so each block carries half a kernel of neighbours on each
    side: the result equals that of one whole-song STFT. Frames are centred at
    j·ANALYSIS_HOP like ``librosa.stft(center=True)`` with zero padding.

    Returns
    -------
    mel : ndarray (N_MELS, T)
    harmonic, percussive : ndarray (T,)
        Energy of the HPSS parts per frame.
    mean_square : ndarray (T,)
        Mean square of the samples under each frame's window (the same window as the
        spectra, so levels line up), from a running sum over the block.
    """
    import librosa

    count = 1 + len(mono) // ANALYSIS_HOP
    padded = np.pad(mono, N_FFT // 2)
    context = HPSS_KERNEL // 2 + 1
    mel = np.empty((mel_basis.shape[0], count), dtype=np.float32)
    harmonic = np.empty(count)
    percussive = np.empty(count)
    mean_square = np.empty(count)
    for start in range(0, count, STFT_BLOCK):
        stop = min(start + STFT_BLOCK, count)
        low, high = max(0, start - context), min(count, stop + context)
        needed = (high - 1) * ANALYSIS_HOP + N_FFT
        chunk = padded[low * ANALYSIS_HOP : needed]
        if len(chunk) < needed - low * ANALYSIS_HOP:
            chunk = np.pad(chunk, (0, needed - low * ANALYSIS_HOP - len(chunk)))
        magnitude = np.abs(librosa.stft(chunk, n_fft=N_FFT, hop_length=ANALYSIS_HOP, center=False))
        keep = slice(start - low, stop - low)
        mel[:, start:stop] = mel_basis @ (magnitude[:, keep] ** 2)
        harmonic_mag, percussive_mag = librosa.decompose.hpss(magnitude, kernel_size=HPSS_KERNEL)
        harmonic[start:stop] = (harmonic_mag[:, keep] ** 2).sum(axis=0)
        percussive[start:stop] = (percussive_mag[:, keep] ** 2).sum(axis=0)
        sums = np.concatenate([[0.0], np.cumsum(chunk.astype(np.float64) ** 2)])
        offsets = np.arange(start - low, stop - low) * ANALYSIS_HOP
        mean_square[start:stop] = np.maximum(sums[offsets + N_FFT] - sums[offsets], 0.0) / N_FFT
    return mel, harmonic, percussive, mean_square


def _chroma(mono: np.ndarray, *, sample_rate_hz: int) -> np.ndarray:
    """12-bin CQT chroma on the fine grid, a block at a time; shape (12, T).

    The CQT of a whole song holds several song-length spectra at once (about 200 MB for
    3 minutes), so it runs on blocks of ``STFT_BLOCK`` frames with ``CHROMA_CONTEXT_S`` of
    audio on each side, longer than the lowest CQT filter, so the blocks join seamlessly.
    Tuning is fixed at A = 440 Hz: librosa's default estimates it from whatever audio it is
    given, which would make the chroma of a passage depend on the rest of the song.
    """
    import librosa

    count = 1 + len(mono) // ANALYSIS_HOP
    context = int(round(CHROMA_CONTEXT_S * sample_rate_hz / ANALYSIS_HOP))
    chroma = np.empty((12, count), dtype=np.float32)
    for start in range(0, count, STFT_BLOCK):
        stop = min(start + STFT_BLOCK, count)
        low, high = max(0, start - context), min(count, stop + context)
        # The last block keeps the samples after its last frame centre, as the whole song would.
        block = mono[low * ANALYSIS_HOP : (high - 1) * ANALYSIS_HOP + 1] if high < count else mono[low * ANALYSIS_HOP :]
        with warnings.catch_warnings():
            # Short blocks make librosa warn that its decimated octaves are shorter than
            # n_fft; the chroma is still right, only zero-padded there.
            warnings.simplefilter("ignore", UserWarning)
            values = librosa.feature.chroma_cqt(y=block, sr=sample_rate_hz, hop_length=ANALYSIS_HOP, tuning=0.0)
        chroma[:, start:stop] = values[:, start - low : stop - low]
    return chroma


def analyze(audio: np.ndarray, *, sample_rate_hz: int, params: dict, where: str = "audio", params_where: str = "params.yaml: features") -> dict[str, np.ndarray]:
    """Compute the GAN features of a song at its video frame instants.

    Parameters
    ----------
    audio : ndarray, float32, shape (channels, samples)
        The master mix, full scale ±1.
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
    import librosa

    fps = parse_fps(params["fps"], where=f"{params_where}.fps")
    if audio.ndim != 2 or audio.shape[1] == 0:
        raise DreamreelError(where, "contains no audio samples", "check the file")
    samples = audio.shape[1]
    if samples * fps.numerator < sample_rate_hz * fps.denominator:
        raise DreamreelError(
            where,
            f"audio is {samples / sample_rate_hz * 1000:.1f} ms long, shorter than one video frame ({1000 / float(fps):.1f} ms)",
            "give a longer song",
        )
    if not np.all(np.isfinite(audio)):
        raise DreamreelError(where, "contains NaN or infinite samples", "re-export the audio")
    n_frames = frame_count(samples, sample_rate_hz, fps)

    mono = audio[0] if audio.shape[0] == 1 else audio.mean(axis=0, dtype=np.float32)
    peak_dbfs = 20 * math.log10(max(float(np.max(np.abs(mono))), 1e-12))
    if peak_dbfs < SILENT_DBFS:
        raise DreamreelError(where, f"the song is silent (peak {peak_dbfs:.0f} dBFS)", "render or choose a song with sound in it")

    rate = int(params["analysis_rate_hz"])
    if rate != sample_rate_hz:
        mono = librosa.resample(mono, orig_sr=sample_rate_hz, target_sr=rate, res_type="soxr_hq").astype(np.float32)
    hop_s = Fraction(ANALYSIS_HOP, rate)

    def pool(values: np.ndarray, mode: str = "mean") -> np.ndarray:
        return pool_to_frames(values, hop_s=hop_s, fps=fps, n_frames=n_frames, mode=mode)

    fmax = min(float(params["mel_fmax_hz"]), rate / 2)
    mel_basis = librosa.filters.mel(sr=rate, n_fft=N_FFT, n_mels=N_MELS, fmax=fmax)
    mel, harmonic_fine, percussive_fine, frames_ms = _spectral_envelopes(mono, mel_basis=mel_basis)
    mel_hz = librosa.mel_frequencies(n_mels=N_MELS, fmax=fmax)
    low_edge, high_edge = (float(v) for v in params["band_edges_hz"])
    band_masks = [mel_hz < low_edge, (mel_hz >= low_edge) & (mel_hz < high_edge), mel_hz >= high_edge]
    bands_fine = np.stack([mel[mask].mean(axis=0) if mask.any() else np.zeros(mel.shape[1]) for mask in band_masks])

    onset_fine = librosa.onset.onset_strength(S=librosa.power_to_db(mel, ref=1.0), sr=rate, hop_length=ANALYSIS_HOP)
    chroma_fine = _chroma(mono, sample_rate_hz=rate)

    fine_count = mel.shape[1]

    def fit(values: np.ndarray) -> np.ndarray:
        """Trim or edge-pad a fine-grid feature to the STFT's frame count."""
        if values.shape[-1] >= fine_count:
            return values[..., :fine_count]
        pad = [(0, 0)] * (values.ndim - 1) + [(0, fine_count - values.shape[-1])]
        return np.pad(values, pad, mode="edge")

    power_frames = pool(mel.mean(axis=0))
    mean_square = pool(fit(frames_ms))
    rms_dbfs = 10 * np.log10(np.maximum(mean_square, 1e-12))
    gate = np.clip((rms_dbfs - float(params["gate_dbfs"])) / GATE_KNEE_DB, 0.0, 1.0)
    if not np.any(gate > 0):
        raise DreamreelError(
            where,
            f"the song is silent: its loudest frame is {rms_dbfs.max():.0f} dBFS, below the gate ({params['gate_dbfs']:g} dBFS)",
            "use a louder mix or lower features.gate_dbfs",
        )

    release = float(params["norm_release_s"])

    def normalise(values: np.ndarray) -> np.ndarray:
        scaled = peak_normalise(values, fps=fps, release_s=release)
        gain = gate if scaled.ndim == 1 else gate[:, None]
        return (scaled * gain).astype(np.float32)

    # Central difference like numpy.gradient: the rise into frame k, in power per frame.
    gradient = np.gradient(power_frames) if n_frames > 1 else np.zeros(1)

    chroma = pool(fit(chroma_fine)).T
    chroma_peak = chroma.max(axis=1, keepdims=True)
    chroma = np.where(chroma_peak > 0, chroma / np.where(chroma_peak > 0, chroma_peak, 1.0), 0.0) * gate[:, None]

    result = {
        "power": normalise(power_frames),
        "power_gradient": normalise(np.maximum(gradient, 0.0)),
        "bands": normalise(pool(fit(bands_fine)).T),
        "chroma": chroma.astype(np.float32),
        "onset": normalise(pool(fit(onset_fine), "max")),
        "percussive": normalise(pool(fit(percussive_fine))),
        "harmonic": normalise(pool(fit(harmonic_fine))),
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
