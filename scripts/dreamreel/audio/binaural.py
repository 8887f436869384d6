"""The 8D renderer: a mono source moved around the listener's head by a pan control.

Two modes, both vectorised numpy/scipy (no per-sample Python), processed in blocks so
memory stays a few times the input whatever the length:

``pan``
    Equal-power stereo. Lateral position p = sin(azimuth) (front and back fall together:
    panning cannot say "behind"), pan angle theta = (p + 1) pi / 4, gains
    gL = cos(theta), gR = sin(theta), so gL^2 + gR^2 = 1 exactly: -3 dB each in the centre.
``binaural`` (default; for headphones)
    Interaural time difference from Woodworth's spherical head,
    ITD = (a / c) (theta + sin theta) for the lateral angle theta = asin(sin az) (0.656 ms,
    31.5 samples at 48 kHz, at 90 degrees), applied to the far ear as a continuous
    fractional delay (linear interpolation between samples, so a moving source glides with
    its natural Doppler shift and never clicks). Head shadow after Brown & Duda (1998): per
    ear the one-pole/one-zero shelf H = (1 + j alpha w/(2 w0)) / (1 + j w/(2 w0)),
    w0 = c/a, alpha(theta_ear) = (1 + alpha_min/2) + (1 - alpha_min/2) cos(pi theta_ear / 150 deg)
    (+6 dB highs facing the ear, -2.4 dB at 90 degrees, -20 dB at 150 degrees). It is
    rendered as a fixed low-pass plus alpha(t) times the complementary fixed high-pass,
    y = x + (alpha(t) - 1) hp(x): one static IIR filter and a per-sample gain, so the filter
    state never jumps. A simple front/back cue lowers that shelf's high-frequency gain
    smoothly to -3 dB behind the head (our addition; Brown-Duda alone sound the same in
    front and behind), folded into alpha so one filter serves both. Loudness compensation:
    for the source's own long-term statistics the energy of each ear is a quadratic in its
    shelf gain, so a gain
    g(t) = sqrt(E_source / (E_left(t) + E_right(t))) keeps L^2 + R^2 equal to the source's
    energy wherever it is: the level stays constant while it orbits.

The source: a stereo input is summed to mono, s = (L + R) / sqrt(2) (a centred stem,
L = R = x, keeps its power: a static source in the centre comes out at x in each ear);
a mono input is used as it is. Both modes keep L^2 + R^2 equal to the source's power at
1 m and 0 dB; ``distance_m`` scales the level by 1 m / r (r >= 0.25 m) and ``gain_db``
adds to it.
"""

from __future__ import annotations

import math

import numpy as np

from dreamreel.audio.automation import MIN_DISTANCE_M, Control

HEAD_RADIUS_M = 0.0875
SPEED_OF_SOUND_M_S = 343.0
ALPHA_MIN = 0.1
THETA_MIN_DEG = 150.0
BACK_SHELF_DB = 3.0
BLOCK_SAMPLES = 1 << 15  # fits the per-block arrays in cache; a multiple of any control hop used


def pan_gains(azimuth_deg) -> tuple[np.ndarray, np.ndarray]:
    """Equal-power gains (gL, gR) for azimuths in degrees; gL^2 + gR^2 = 1. float64, same shape."""
    theta = (np.sin(np.radians(azimuth_deg)) + 1.0) * (np.pi / 4.0)
    return np.cos(theta), np.sin(theta)


def woodworth_itd_s(azimuth_deg, *, head_radius_m: float = HEAD_RADIUS_M, speed_of_sound_m_s: float = SPEED_OF_SOUND_M_S):
    """Signed interaural time difference in seconds: positive when the source is to the right
    (the left ear hears it later). Woodworth: (a/c)(theta + sin theta), theta the lateral angle."""
    lateral = np.arcsin(np.clip(np.sin(np.radians(azimuth_deg)), -1.0, 1.0))
    magnitude = np.abs(lateral)
    return np.sign(lateral) * head_radius_m / speed_of_sound_m_s * (magnitude + np.sin(magnitude))


def head_shadow_alpha(angle_to_ear_deg):
    """Brown-Duda high-frequency gain alpha for the angle between the source and an ear's axis (0-180 deg)."""
    return (1.0 + ALPHA_MIN / 2.0) + (1.0 - ALPHA_MIN / 2.0) * np.cos(np.radians(angle_to_ear_deg) / np.radians(THETA_MIN_DEG) * np.pi)


def first_order_highpass(corner_hz: float, sample_rate_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """(b, a) of a bilinear first-order high-pass whose complement 1 - HP is the matching low-pass."""
    k = math.tan(math.pi * min(corner_hz, 0.45 * sample_rate_hz) / sample_rate_hz)
    return np.array([1.0, -1.0]) / (1.0 + k), np.array([1.0, (k - 1.0) / (1.0 + k)])


def head_shadow_corner_hz(head_radius_m: float = HEAD_RADIUS_M, speed_of_sound_m_s: float = SPEED_OF_SOUND_M_S) -> float:
    """Corner of the Brown-Duda shelf: 2 w0 = 2 c / a rad/s (about 1.25 kHz)."""
    return 2.0 * speed_of_sound_m_s / head_radius_m / (2.0 * math.pi)


def mono_source(audio: np.ndarray) -> np.ndarray:
    """The source signal (samples,) float32: (L + R) / sqrt(2) for stereo, the channel for mono."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2 or audio.shape[0] not in (1, 2):
        raise ValueError(f"expected (1 or 2 channels, samples) audio, got shape {audio.shape}")
    if audio.shape[0] == 1:
        return audio[0]
    return (audio[0] + audio[1]) * np.float32(1.0 / math.sqrt(2.0))


def _dot(a: np.ndarray, b: np.ndarray, chunk: int = 1 << 20) -> float:
    """Sum of a * b in float64, chunk by chunk with numpy's pairwise sum.

    Not BLAS: its threaded dot product may split the sum differently on another machine,
    and the result sets the loudness gain, so outputs would differ in their last bits.
    """
    return float(sum(np.sum(a[i:i + chunk] * b[i:i + chunk], dtype=np.float64) for i in range(0, a.shape[0], chunk)))


def _level(control: Control) -> np.ndarray:
    return 10.0 ** (control.gain_db / 20.0) / np.maximum(control.distance_m, MIN_DISTANCE_M)


def _pad_control(values: np.ndarray, before: int, points: int) -> np.ndarray:
    """float32 control with ``before`` copies of the first value in front, extended to ``points``."""
    after = max(points - before - len(values), 0)
    return np.concatenate([np.full(before, values[0]), values, np.full(after, values[-1])]).astype(np.float32)


class _Upsampler:
    """Linear interpolation of control points (every ``hop`` samples) to every sample of a range."""

    def __init__(self, hop: int):
        self.hop = hop
        self.ramp = (np.arange(hop, dtype=np.float32) / np.float32(hop))[None, :]

    def __call__(self, points: np.ndarray, k0: int, k1: int) -> np.ndarray:
        start = points[k0:k1, None]
        return (start + (points[k0 + 1:k1 + 1, None] - start) * self.ramp).ravel()


def render(
    audio: np.ndarray,
    sample_rate_hz: int,
    control: Control,
    *,
    mode: str = "binaural",
    head_radius_m: float = HEAD_RADIUS_M,
    speed_of_sound_m_s: float = SPEED_OF_SOUND_M_S,
    block_samples: int = BLOCK_SAMPLES,
) -> np.ndarray:
    """Move ``audio`` around the head as ``control`` says.

    Parameters
    ----------
    audio : ndarray, float32, shape (1 or 2, N)
        The stem; stereo is summed to mono first (see the module docstring).
    sample_rate_hz : int
        Sample rate of ``audio`` and of ``control``'s hop.
    control : Control
        Azimuth (degrees), distance (m), gain (dB) every ``control.hop_samples`` samples,
        at least ceil(N / hop) + 1 points.
    mode : {"binaural", "pan"}
    head_radius_m, speed_of_sound_m_s : float
        The spherical head (binaural mode).
    block_samples : int
        Samples per processing block (rounded to a multiple of the hop).

    Returns
    -------
    ndarray, float32, shape (2, N)
        Left and right.
    """
    source = mono_source(audio)
    hop = control.hop_samples
    if len(control.azimuth_deg) < -(-source.shape[0] // hop) + 1:
        raise ValueError("the control is shorter than the audio")
    block = max(hop, block_samples // hop * hop)
    if mode == "pan":
        return _render_pan(source, control, block)
    if mode == "binaural":
        return _render_binaural(source, sample_rate_hz, control, block, head_radius_m, speed_of_sound_m_s)
    raise ValueError(f"unknown mode {mode!r}")


def _render_pan(source: np.ndarray, control: Control, block: int) -> np.ndarray:
    count = source.shape[0]
    hop = control.hop_samples
    points = -(-count // hop) + 2
    # The lateral position is interpolated, and the gains come from it per sample, so
    # gL^2 + gR^2 = 1 holds at every sample, not just at the control points.
    lateral = _pad_control(np.sin(np.radians(control.azimuth_deg)), 0, points)
    level = _pad_control(_level(control), 0, points)
    steady = level[0] if np.all(level == level[0]) else None  # no distance or gain automation
    upsample = _Upsampler(hop)
    out = np.empty((2, count), dtype=np.float32)
    quarter_pi = np.float32(np.pi / 4)
    for start in range(0, count, block):
        stop = min(start + block, count)
        k0, k1 = start // hop, -(-stop // hop)
        theta = (upsample(lateral, k0, k1)[: stop - start] + np.float32(1)) * quarter_pi
        scaled = source[start:stop] * (steady if steady is not None else upsample(level, k0, k1)[: stop - start])
        np.multiply(scaled, np.cos(theta), out=out[0, start:stop])
        np.multiply(scaled, np.sin(theta), out=out[1, start:stop])
    return out


def _render_binaural(source, sample_rate_hz, control: Control, block: int, head_radius_m, speed_of_sound_m_s) -> np.ndarray:
    from scipy.signal import lfilter

    count = source.shape[0]
    hop = control.hop_samples
    azimuth = np.radians(control.azimuth_deg)
    sin_az, cos_az = np.sin(azimuth), np.cos(azimuth)

    # Per control point: the far ear's delay in samples, each ear's shelf gain, the back cue.
    itd = woodworth_itd_s(control.azimuth_deg, head_radius_m=head_radius_m, speed_of_sound_m_s=speed_of_sound_m_s) * sample_rate_hz
    delay_left, delay_right = np.maximum(itd, 0.0), np.maximum(-itd, 0.0)
    # The back cue lowers both ears' shelf gains smoothly towards the back.
    back = 1.0 - (1.0 - 10.0 ** (-BACK_SHELF_DB / 20.0)) * np.maximum(-cos_az, 0.0)
    shelf_left = head_shadow_alpha(np.degrees(np.arccos(np.clip(-sin_az, -1, 1)))) * back - 1.0
    shelf_right = head_shadow_alpha(np.degrees(np.arccos(np.clip(sin_az, -1, 1)))) * back - 1.0

    max_delay = float(head_radius_m / speed_of_sound_m_s * (np.pi / 2 + 1) * sample_rate_hz)
    pad = hop * -(-(int(math.ceil(max_delay)) + 2) // hop)  # history for the delay, whole hops
    total = pad + -(-count // hop) * hop
    padded = np.zeros(total, dtype=np.float32)
    padded[pad:pad + count] = source
    # float32 coefficients keep the filters in float32 (twice as fast as float64, and
    # first-order sections are well conditioned in single precision).
    b, a = first_order_highpass(head_shadow_corner_hz(head_radius_m, speed_of_sound_m_s), sample_rate_hz)
    shadow = lfilter(b.astype(np.float32), a.astype(np.float32), padded)

    # Loudness: an ear, s + a * shadow, has the energy A + 2 a B + a^2 C over the whole source.
    energy, cross, shadow_energy = _dot(source, source), _dot(padded, shadow), _dot(shadow, shadow)

    def ear_energy(a):
        return energy + 2.0 * a * cross + a * a * shadow_energy

    level = _level(control)
    if energy > 0:
        level = level * np.sqrt(energy / np.maximum(ear_energy(shelf_left) + ear_energy(shelf_right), 1e-30))
    else:
        level = level / math.sqrt(2.0)

    before = pad // hop
    points = total // hop + 2
    controls = [_pad_control(v, before, points) for v in (shelf_left, shelf_right, delay_left, delay_right, level)]
    shelf_left, shelf_right, delay_left, delay_right, level = controls
    upsample = _Upsampler(hop)
    out = np.empty((2, count), dtype=np.float32)
    positions = np.arange(block, dtype=np.int32) + np.int32(pad)
    for start in range(pad, pad + count, block):
        stop = min(start + block, total)
        length = stop - start
        k0, k1, kh = start // hop, stop // hop, (start - pad) // hop
        history = slice(start - pad, stop)
        s, h1 = padded[history], shadow[history]
        gain = upsample(level, k0, k1)
        written = min(length, pad + count - start)
        for channel, shelf, delay in ((0, shelf_left, delay_left), (1, shelf_right, delay_right)):
            ear = upsample(shelf, kh, k1)
            ear *= h1
            ear += s
            target = out[channel, start - pad:start - pad + written]
            if not delay[k0:k1 + 1].any():
                # The near ear (or a source straight ahead or behind): no delay to apply.
                np.multiply(ear[pad:pad + written], gain[:written], out=target)
                continue
            d = upsample(delay, k0, k1)
            whole = d.astype(np.int32)
            d -= whole  # now the fraction of a sample
            index = positions[:length] - whole
            near = ear[index]
            near += d * (ear[index - 1] - near)
            np.multiply(near[:written], gain[:written], out=target)
    return out
