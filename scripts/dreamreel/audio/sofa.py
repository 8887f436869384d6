"""The optional third 8D mode: measured head-related impulse responses from a user's SOFA file.

SOFA (AES69) files are netCDF-4, which is HDF5, so h5py reads them. We read the
SimpleFreeFieldHRIR layout: ``Data.IR`` (M measurements, 2 ears, N taps),
``Data.SamplingRate`` and ``SourcePosition`` (M, 3) in degrees/metres (spherical) or
metres (cartesian). Only the horizontal ring is used: the measurements at the elevation
nearest 0 degrees. SOFA counts azimuth counter-clockwise (90 degrees is the left ear);
ours counts clockwise (90 is the right ear), so the sign flips on reading.

Rendering is commuted interpolation: a source between two measured directions k and k+1
is x(t) split by linear weights (1 - w(t), w(t)); each direction's weighted share is
convolved with that direction's HRIRs and the results are summed. It is exact at the
measured directions, a linear blend between them, and the cross-fade is built in, so a
moving source never clicks. Work is done in blocks by FFT, convolving only the
directions the source visits in each block. The HRIRs are used as measured (their own
onset delays included, no minimum-phase split), scaled so that the ring's mean energy
is 1: the level is that of the measurement, not compensated per direction. Resampled
to the audio's rate when they differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamreel.audio.automation import Control
from dreamreel.core.errors import DreamreelError

SOFA_FIX = "give a SOFA file of head-related impulse responses (SimpleFreeFieldHRIR), e.g. one from sofaconventions.org"


@dataclass(frozen=True)
class HrirRing:
    """HRIRs around the head in the horizontal plane.

    ``azimuth_deg``: (K,) increasing, in [-180, 180), ours (+90 = right ear);
    ``ir``: (K, 2, L) float32 left/right impulse responses at ``sample_rate_hz``.
    """

    azimuth_deg: np.ndarray
    ir: np.ndarray
    sample_rate_hz: int


def read_sofa(path: str | Path, *, sample_rate_hz: int) -> HrirRing:
    """Read the horizontal HRIR ring of a SOFA file, resampled to ``sample_rate_hz``."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "SOFA file not found", "check the pan's sofa path (relative to where make runs)")
    try:
        handle = h5py.File(str(path), "r")
    except OSError:
        raise DreamreelError(str(path), "not a SOFA file (not netCDF-4/HDF5)", SOFA_FIX) from None
    with handle:
        missing = [name for name in ("Data.IR", "Data.SamplingRate", "SourcePosition") if name not in handle]
        if missing:
            raise DreamreelError(str(path), f"not a SOFA HRIR file (no {missing[0]})", SOFA_FIX)
        ir = np.asarray(handle["Data.IR"], dtype=np.float64)
        rate = float(np.asarray(handle["Data.SamplingRate"]).ravel()[0])
        positions = np.asarray(handle["SourcePosition"], dtype=np.float64)
        kind = handle["SourcePosition"].attrs.get("Type", b"spherical")
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    if ir.ndim != 3 or ir.shape[1] != 2 or positions.ndim != 2 or positions.shape[0] != ir.shape[0] or positions.shape[1] < 2:
        raise DreamreelError(str(path), f"Data.IR {ir.shape} and SourcePosition {positions.shape} are not M x 2 x N and M x 3", SOFA_FIX)
    if not np.isfinite(ir).all() or not rate > 0:
        raise DreamreelError(str(path), "Data.IR or Data.SamplingRate is not usable (not finite or not positive)", SOFA_FIX)
    if kind.lower().startswith("cartesian"):
        x, y, z = positions[:, 0], positions[:, 1], positions[:, 2]
        azimuth, elevation = np.degrees(np.arctan2(y, x)), np.degrees(np.arctan2(z, np.hypot(x, y)))
    else:
        azimuth, elevation = positions[:, 0], positions[:, 1]
    level = elevation[np.argmin(np.abs(elevation))]
    ring = np.abs(elevation - level) < 0.5
    ours = (-azimuth[ring] + 180.0) % 360.0 - 180.0
    order = np.argsort(ours, kind="stable")
    ours, irs = ours[order], ir[ring][order]
    keep = np.r_[True, np.diff(ours) > 1e-6]
    ours, irs = ours[keep], irs[keep]
    if len(ours) < 2:
        raise DreamreelError(str(path), "fewer than two directions in the horizontal plane", SOFA_FIX)
    if int(round(rate)) != sample_rate_hz:
        from dreamreel.core.audio_io import resample

        irs = resample(irs.astype(np.float32), int(round(rate)), sample_rate_hz).astype(np.float64)
    energy = np.mean(np.sum(irs**2, axis=(1, 2)))
    if energy <= 0:
        raise DreamreelError(str(path), "the impulse responses are silent", SOFA_FIX)
    return HrirRing(ours, (irs / np.sqrt(energy)).astype(np.float32), sample_rate_hz)


def ring_weights(ring: HrirRing, azimuth_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each azimuth: the measured directions either side (indices j, j2) and the weight w of j2.

    The ring is closed: between its last and first direction the blend goes across +-180.
    """
    angles = ring.azimuth_deg
    count = len(angles)
    wrapped = (np.asarray(azimuth_deg, dtype=np.float64) + 180.0) % 360.0 - 180.0
    below = np.searchsorted(angles, wrapped, side="right") - 1  # -1: below the first direction
    below = np.where(below < 0, count - 1, below)
    above = (below + 1) % count
    start = angles[below]
    span = (angles[above] - start) % 360.0
    span = np.where(span == 0, 360.0, span)
    weight = ((wrapped - start) % 360.0) / span
    return below, above, weight


def render_sofa(source: np.ndarray, control: Control, ring: HrirRing, *, block_samples: int = 8192) -> np.ndarray:
    """Render the mono ``source`` (N,) float32 along ``control`` through ``ring``: (2, N) float32."""
    count = source.shape[0]
    hop = control.hop_samples
    block = max(hop, block_samples // hop * hop)
    taps = ring.ir.shape[-1]
    size = 1 << int(np.ceil(np.log2(block + taps - 1)))
    spectra = np.fft.rfft(ring.ir, n=size, axis=-1).astype(np.complex64)  # (K, 2, F)
    below, above, weight = ring_weights(ring, control.azimuth_deg)
    level = 10.0 ** (control.gain_db / 20.0) / np.maximum(control.distance_m, 0.25)
    out = np.zeros((2, count + size), dtype=np.float32)
    ramp = np.arange(hop) / hop
    for start in range(0, count, block):
        stop = min(start + block, count)
        k0, k1 = start // hop, -(-stop // hop)
        points = slice(k0, k1 + 1)
        active = np.unique(np.concatenate([below[points], above[points]]))
        # Each active direction's weight at the control points, then per sample (linear).
        share = np.zeros((len(active), k1 - k0 + 1))
        for row, direction in enumerate(active):
            share[row] += np.where(below[points] == direction, 1.0 - weight[points], 0.0)
            share[row] += np.where(above[points] == direction, weight[points], 0.0)
        gain = level[points]
        per_sample = (share[:, :-1, None] * gain[None, :-1, None]
                      + (share[:, 1:, None] * gain[None, 1:, None] - share[:, :-1, None] * gain[None, :-1, None]) * ramp[None, None, :])
        per_sample = per_sample.reshape(len(active), -1)[:, : stop - start]
        shares = np.fft.rfft(per_sample * source[start:stop], n=size, axis=-1)  # (A, F)
        ears = np.einsum("af,aef->ef", shares, spectra[active])
        out[:, start:start + size] += np.fft.irfft(ears, n=size, axis=-1).astype(np.float32)
    return np.ascontiguousarray(out[:, :count])
