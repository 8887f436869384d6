"""The latent walk: per-frame BigGAN noise and class vectors driven by the features.

The mapping is the one the deep-music-visualizer made popular, restated per second so it
holds at any frame rate, plus two improvements:

Motion (cumulative).  The noise vector starts at a truncated-normal draw and moves every
frame by ``motion_speed_per_s / fps × drive × direction × jitter``. The drive is
``motion_power_weight × (power + power_gradient) + motion_harmonic_weight × harmonic``: the
reference's (power + gradient) plus sustained harmonic energy, so held chords keep the
picture flowing. Each dimension's direction flips when it nears ±2·truncation (the edge of
the truncated normal), so the walk bounces inside the distribution. Per-dimension jitter
(each factor 1 or 1 − ``motion_jitter``, redrawn every ``motion_jitter_period_s``) keeps
dimensions from moving in lockstep. Updates are smoothed with a time constant of
``motion_smoothing_s``; 0.081 s is the reference's 3:1 smoothing at its 43.07 fps.

Pulse (instant).  ``pulse_onset_weight × onset + pulse_percussive_weight × percussive``,
held by a peak envelope that decays over ``pulse_decay_s``, pushes the noise by up to
``pulse_depth`` along a fixed direction and lets it spring back: hits throb, they do not
drift the walk.

Classes.  Up to 12 ImageNet classes, one per pitch class of the chroma (C, C#, ... in
``class_ids`` order, or by the song's strongest pitch classes with ``class_order: power``).
Each class weight follows its chroma bin with a time constant of ``class_response_s`` (the
reference's pitch sensitivity 220 is about 1.87 s), holds during silence, is smoothed by a
centred moving average of ``class_smoothing_s`` and scaled by ``class_depth``.

Everything is drawn from ``seed`` through independent streams, and every step but the class
smoothing (a few frames) and ``class_order: power`` looks only backwards in time, so a
change at the end of the song leaves the earlier latents byte-identical.

The two large members, noise (N, 128) and classes (N, 1000), are produced a block of frames
at a time as latents.npz is written (:func:`walk_members`); what is held per frame is the
features and the class weights, a few dozen floats.

Loops (:func:`close_loop`, ``video.loop``).  A walk of any model (noise and classes,
StyleGAN ws, a StyleGAN3 input transform) can be bent to come back to its start: the gap
between the frame after the last one (extrapolated) and the first is spread evenly over
the whole walk, so the cut from the last frame to the first is one ordinary step. Spread
over a song the bend is slow (4 noise units over 3 minutes is 0.0007 a frame at 30 fps),
but it is global: with a loop, a change at the end moves every frame. A streamed member
stays streamed when it is bent: a first pass finds its first and last two frames, a
second adds the ramp block by block.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Iterator

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.core.npz import StreamedArray
from dreamreel.gan.conduct import conduct_members, drive_signal, dynamics_gain, part_seed, pitch_drive
from dreamreel.gan.imagenet import NUM_CLASSES, resolve_classes
from dreamreel.gan.sections import MAX_CLASSES

NOISE_DIM = 128
# Streams of their own for the scenes' class sets and the noise subspaces, apart from
# SeedSequence(seed).spawn(4), so conducting leaves every draw of the audio walk as it was.
SCENE_STREAM = 1001
NOISE_STREAM = 1002
# Frames per block of the streamed noise and classes: 4 MB of classes at a time.
WALK_BLOCK_FRAMES = 1024


# The per-frame arrays of a walk that a loop bends; the others are constants or diagnostics.
LOOP_KEYS = ("noise", "classes", "ws")


def _closing_gap(first: np.ndarray, before_last: np.ndarray, last: np.ndarray, *, wrap: float | None = None) -> np.ndarray:
    """The gap from the frame that would follow the last one, 2·last − before_last, to the first.

    ``wrap`` closes an angle modulo that period, by the shorter way round: a steady spin
    keeps turning, and the loop only makes up the part of a turn it is off by.
    """
    gap = first - (2.0 * last - before_last)
    if wrap is not None:
        gap = (gap + wrap / 2.0) % wrap - wrap / 2.0
    return gap


def _ramp_rows(gap: np.ndarray, start: int, stop: int, count: int) -> np.ndarray:
    """Frames [start, stop) of the closing ramp ``(k / count) · gap`` of a walk ``count`` frames long."""
    return (np.arange(start, stop, dtype=np.float64) / count).reshape(-1, *([1] * gap.ndim)) * gap


def _closing_ramp(values: np.ndarray, *, wrap: float | None = None) -> np.ndarray:
    """What to add to ``values`` (N, ...) so they would reach ``values[0]`` at frame N."""
    gap = _closing_gap(values[0], values[-2], values[-1], wrap=wrap)
    return _ramp_rows(gap, 0, values.shape[0], values.shape[0])


def _close_transforms(transforms: np.ndarray) -> np.ndarray:
    """Close a StyleGAN3 input-transform walk, (N, 3, 3) ``[[c, s, x], [-s, c, y], [0, 0, 1]]``.

    Matrices are not blended (half of a turn blended linearly is no rotation): the angle and
    the shift are closed, the angle modulo a whole turn, and the matrices rebuilt.
    """
    matrix = np.asarray(transforms, dtype=np.float64)
    angle = np.unwrap(np.arctan2(matrix[:, 0, 1], matrix[:, 0, 0]))
    angle = angle + _closing_ramp(angle, wrap=2.0 * math.pi)
    shift = matrix[:, :2, 2] + _closing_ramp(matrix[:, :2, 2])
    closed = np.zeros_like(matrix)
    closed[:, 0, 0], closed[:, 0, 1], closed[:, 1, 0], closed[:, 1, 1] = np.cos(angle), np.sin(angle), -np.sin(angle), np.cos(angle)
    closed[:, :2, 2] = shift
    closed[:, 2, 2] = 1.0
    return closed


def _closed_stream(member: StreamedArray) -> StreamedArray:
    """A streamed member bent like :func:`close_loop` bends an array, in two passes over its blocks.

    The first pass keeps only frames 0, N−2 and N−1 (all the gap needs); the second adds
    each block's rows of the ramp. Row k gets the same float64 arithmetic as in the whole
    array, so the bytes are those of bending the collected member.
    """
    count = member.shape[0]
    first, recent = None, None
    for block in member.blocks():
        block = np.asarray(block, dtype=np.float64)
        if first is None and len(block):
            first = block[0].copy()
        # The last two frames may straddle two blocks.
        recent = block[-2:].copy() if recent is None else np.concatenate([recent, block[-2:]])[-2:]
    gap = _closing_gap(first, recent[0], recent[1])

    def blocks() -> Iterator[np.ndarray]:
        start = 0
        for block in member.blocks():
            stop = start + len(block)
            yield (np.asarray(block, dtype=np.float64) + _ramp_rows(gap, start, stop, count)).astype(member.dtype)
            start = stop

    return StreamedArray(tuple(member.shape), member.dtype, blocks)


def close_loop(walk: dict[str, np.ndarray | StreamedArray]) -> dict[str, np.ndarray | StreamedArray]:
    """The walk bent so that it returns to its first frame after its last one.

    Each array of :data:`LOOP_KEYS`, shape (N, ...), gets ``(k / N) · (a[0] − â[N])`` added
    to frame k, where â[N] = 2·a[N−1] − a[N−2] is the frame that would follow the last one.
    The bent walk would reach a[0] exactly at frame N, so the step from its last frame back
    to its first equals its own last step plus 1/N of the gap. A StyleGAN3 ``transform``
    is closed in its angle and shift (:func:`_close_transforms`). Other arrays are kept.
    A :class:`StreamedArray` member stays streamed (:func:`_closed_stream`): the walk is
    computed twice, but never held whole.
    """
    result = dict(walk)
    for key in (*LOOP_KEYS, "transform"):
        if key not in walk or walk[key].shape[0] < 2:
            continue
        if isinstance(walk[key], StreamedArray):
            result[key] = _closed_stream(walk[key])
            continue
        array = np.asarray(walk[key], dtype=np.float64)
        closed = _close_transforms(array) if key == "transform" else array + _closing_ramp(array)
        result[key] = closed.astype(walk[key].dtype)
    return result


def _per_frame(time_constant_s: float, fps: Fraction) -> float:
    """Per-frame retention of an exponential smoother with the given time constant."""
    if time_constant_s <= 0:
        return 0.0
    return math.exp(-1.0 / (float(fps) * time_constant_s))


def truncated_normal(rng: np.random.Generator, size: int, *, bound: float = 2.0) -> np.ndarray:
    """Standard normal samples redrawn until all lie strictly inside ±``bound``."""
    values = rng.standard_normal(size)
    outside = np.abs(values) >= bound
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) >= bound
    return values


def _feature(features: dict, key: str, n_frames: int, *, width: int | None = None, dtype: type | None = np.float64) -> np.ndarray:
    """A feature checked for shape, as ``dtype`` (None: as stored, which may be a memory map)."""
    if key not in features:
        raise DreamreelError("features.npz", f"has no '{key}' array", "rebuild it with scripts/analyze.py")
    values = np.asarray(features[key], dtype=dtype)
    expected = (n_frames,) if width is None else (n_frames, width)
    if values.shape != expected:
        raise DreamreelError("features.npz", f"'{key}' has shape {values.shape}, expected {expected}", "rebuild it with scripts/analyze.py")
    return values


def _motion_drive(features: dict, n_frames: int, params: dict) -> np.ndarray:
    """What pushes the walk each frame: (power + gradient) and harmonic energy, weighted; (N,)."""
    power = _feature(features, "power", n_frames)
    gradient = _feature(features, "power_gradient", n_frames)
    harmonic = _feature(features, "harmonic", n_frames)
    return float(params["motion_power_weight"]) * (power + gradient) + float(params["motion_harmonic_weight"]) * harmonic


def _peak_hold(drive: np.ndarray, keep: float) -> np.ndarray:
    """A peak envelope: rises with ``drive`` at once, falls by ``keep`` a frame; (N,)."""
    envelope = np.empty(len(drive))
    level = 0.0
    for k in range(len(drive)):
        level = max(float(drive[k]), level * keep)
        envelope[k] = level
    return envelope


def _pulse_envelope(features: dict, n_frames: int, params: dict, fps: Fraction, gain: np.ndarray | None = None) -> np.ndarray:
    """The pulse drive (onsets and percussion), scaled by the dynamics ``gain``, held by a peak envelope of ``pulse_decay_s``; (N,)."""
    onset = _feature(features, "onset", n_frames)
    percussive = _feature(features, "percussive", n_frames)
    pulse_drive = float(params["pulse_onset_weight"]) * onset + float(params["pulse_percussive_weight"]) * percussive
    if gain is not None:
        pulse_drive = pulse_drive * gain
    return _peak_hold(pulse_drive, _per_frame(float(params["pulse_decay_s"]), fps))


# Truncation driven by a part moves in steps of this size: BigGAN renders one truncation
# per call and caches its batch-norm statistics per value, so a continuous truncation
# would render frame by frame and fill that cache.
TRUNCATION_STEP = 0.05


def _class_weights(features: dict, n_frames: int, params: dict, fps: Fraction, class_rng: np.random.Generator, *, where: str,
                   chroma: np.ndarray | None = None) -> tuple[list[int], np.ndarray]:
    """The ImageNet classes used and their weight per frame, float32 (N, m), scaled by class_depth.

    ``chroma`` (N, 12) replaces the features' chroma (a conducted part's pitch classes).
    Those are exact from frame to frame, so the centred smoothing (which exists to calm
    the analysed chroma, and starts a change half its width early) is skipped for them:
    a chord moves the classes from its own frame on.
    """
    # Kept as stored (float32) and converted column by column as needed: the song's whole
    # chroma in float64 would be one more (N, 12) array held at the peak.
    conducted = chroma is not None
    if not conducted:
        chroma = _feature(features, "chroma", n_frames, width=12, dtype=None)
    if params["class_ids"]:
        class_indices = resolve_classes(params["class_ids"], where=f"{where}.class_ids")
    else:
        class_indices = sorted(int(i) for i in class_rng.choice(NUM_CLASSES, size=MAX_CLASSES, replace=False))
    if params["class_order"] == "power":
        # Stable sort so ties keep pitch order and the result is reproducible.
        bins = np.argsort(-np.asarray(chroma, dtype=np.float64).mean(axis=0), kind="stable")[: len(class_indices)]
    else:
        bins = np.arange(len(class_indices))
    rate = 1.0 - _per_frame(float(params["class_response_s"]), fps)
    weights = np.empty((n_frames, len(bins)))
    current = None
    # The bins followed are read a block of frames at a time: with the weights and their
    # smoothed copy, a third (N, m) float64 array would be held at the peak.
    for start in range(0, n_frames, WALK_BLOCK_FRAMES):
        follow = np.asarray(chroma[start : start + WALK_BLOCK_FRAMES, bins], dtype=np.float64)
        sounding = follow.sum(axis=1) > 0
        for k in range(len(follow)):
            if current is None and sounding[k]:
                # Until the first sound, the weights hold the first sounding frame's chroma.
                current = follow[k].copy()
                weights[:start + k] = current
            if current is not None and sounding[k]:
                current = current + rate * (follow[k] - current)
            if current is not None:
                weights[start + k] = current
    if current is None:
        weights[:] = np.asarray(chroma[0, bins], dtype=np.float64)  # never a sound: the first frame's chroma throughout
    width = 0 if conducted else round(float(params["class_smoothing_s"]) * float(fps))
    depth = float(params["class_depth"])
    scaled = np.empty(weights.shape, dtype=np.float32)
    for column in range(weights.shape[1]):
        # One class at a time: the same filter line by line, without a smoothed copy of all of them.
        smoothed = weights[:, column]
        if width > 1:
            from scipy.ndimage import uniform_filter1d

            smoothed = uniform_filter1d(smoothed, size=width, mode="nearest")
        scaled[:, column] = (depth * smoothed).astype(np.float32)
    return class_indices, scaled


def make_walk(features: dict, *, params: dict, where: str = "params.yaml: latents", conducting=None) -> dict[str, np.ndarray]:
    """Turn features into the latent walk, every member as one array; see :func:`walk_members`."""
    members = walk_members(features, params=params, where=where, conducting=conducting)
    return {name: member.collect() if isinstance(member, StreamedArray) else member for name, member in members.items()}


def scene_classes(class_indices: list[int], scenes: int, *, seed: int, user_classes: bool) -> np.ndarray:
    """The class set of each scene, int64 (S, m); scene 0 is the walk's own ``class_indices``.

    With classes the user listed (``class_ids``), scene s reassigns them, pitch class i
    taking class i + s (mod m); otherwise each scene draws m classes of its own from the seed.
    """
    sets = [list(class_indices)]
    for scene in range(1, scenes):
        if user_classes:
            sets.append(class_indices[scene % len(class_indices):] + class_indices[: scene % len(class_indices)])
        else:
            rng = np.random.default_rng([int(seed), SCENE_STREAM, scene])
            sets.append(sorted(int(i) for i in rng.choice(NUM_CLASSES, size=len(class_indices), replace=False)))
    return np.asarray(sets, dtype=np.int64)


def noise_subspaces(drives, *, seed: int) -> dict[str, np.ndarray]:
    """The noise dimensions each part driving ``noise`` owns: disjoint, from one seeded shuffle, in mapping order."""
    order = np.random.default_rng([int(seed), NOISE_STREAM]).permutation(NOISE_DIM)
    owned, taken = {}, 0
    for drive in drives:
        owned[drive.part] = np.sort(order[taken : taken + drive.dims])
        taken += drive.dims
    return owned


def walk_members(features: dict, *, params: dict, where: str = "params.yaml: latents", block_frames: int = WALK_BLOCK_FRAMES,
                 conducting=None) -> dict[str, np.ndarray | StreamedArray]:
    """Turn features into the latent walk, the two large members streamed.

    Parameters
    ----------
    features : dict of str to ndarray
        What :func:`dreamreel.gan.features.analyze` returns (or features.npz opened).
    params : dict
        The ``latents`` section (see :data:`LATENTS`), defaults filled in.
    where : str
        Prefix naming the params section in error messages.
    block_frames : int
        Frames per block of the streamed members.
    conducting : dreamreel.gan.conduct.Conducting or None
        Parts that drive targets (pulse, motion, classes, noise, truncation) in place of
        the summed features, and the scenes of the sections; None: the audio walk alone.

    Returns
    -------
    dict of str to ndarray or StreamedArray
        ``noise`` float32 (N, 128) within ±2·truncation and ``classes`` float32 (N, 1000),
        both as :class:`StreamedArray` (computed block by block as they are written: for a
        20-minute song at 30 fps they are 18 MB and 144 MB); ``truncation`` float32 (N,);
        ``fps_num``, ``fps_den``; ``class_indices`` (m,) the ImageNet classes used, in
        pitch-class order; ``motion_drive``, ``pulse_drive`` (N,). Also ``dynamics_gain``
        (N,) when ``dynamics`` is on; ``scene_class_indices`` (S, m) and ``scene_weights``
        (N, S) with scenes; ``noise_owner`` (128,) int64, the index in ``conduct_parts``
        of the part that owns each noise dimension (-1: the walk's own), with noise
        subspaces; ``conduct_parts``, ``conduct_targets`` (Q,) and ``conduct_drive``
        (N, Q) float32, each conducted pair's drive, with any conducting.
    """
    fps = Fraction(int(features["fps_num"]), int(features["fps_den"]))
    n_frames = int(np.asarray(features["power"]).shape[0])
    # Each per-frame input is read inside the helper that needs it, so it is freed as soon
    # as its drive or weights are made: what is held while the walk is written is a few
    # floats a frame.
    gain = dynamics_gain(features, params=params)
    drives = conducting.drives if conducting is not None else ()
    by_target = {target: [d for d in drives if d.target == target] for target in ("pulse", "motion", "classes", "noise", "truncation")}
    if by_target["motion"]:
        motion_drive = sum(drive_signal(d, gain) for d in by_target["motion"])
    else:
        motion_drive = _motion_drive(features, n_frames, params)
        if gain is not None:
            motion_drive = motion_drive * gain
    pulse_keep = _per_frame(float(params["pulse_decay_s"]), fps)
    # Each part's pulse pushes along a direction of its own, so two parts read as two throbs.
    part_pulses = [(_peak_hold(drive_signal(d, gain), pulse_keep), part_direction(int(params["seed"]), d.part)) for d in by_target["pulse"]]
    envelope = np.zeros(n_frames) if part_pulses else _pulse_envelope(features, n_frames, params, fps, gain)
    owned = noise_subspaces(by_target["noise"], seed=int(params["seed"]))
    # A noise part moves its own dimensions at the walk's speed, each note a push that
    # decays like a pulse: a note moves them on, and they stay where it left them.
    part_noise = [(owned[d.part], _peak_hold(drive_signal(d, gain), pulse_keep)) for d in by_target["noise"]]

    def streams() -> tuple[np.random.Generator, ...]:
        # Fresh generators on every pass, so writing the walk twice gives the same bytes.
        return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(int(params["seed"])).spawn(4))

    _, _, pulse_rng, class_rng = streams()
    truncation = float(params["truncation"])
    edge = 2.0 * truncation

    # --- motion: the reference walk, per second instead of per frame -------------------
    step_per_frame = float(params["motion_speed_per_s"]) / float(fps)
    keep = _per_frame(float(params["motion_smoothing_s"]), fps)
    jitter = float(params["motion_jitter"])
    jitter_period = max(1, round(float(params["motion_jitter_period_s"]) * float(fps)))

    # --- pulse: an envelope that springs back ------------------------------------------
    pulse_direction = np.where(pulse_rng.random(NOISE_DIM) < 0.5, 1.0, -1.0)
    pulse_depth = float(params["pulse_depth"])

    def noise_blocks() -> Iterator[np.ndarray]:
        """The walk a block of frames at a time: only the current position and step carry over."""
        start_rng, jitter_rng, _, _ = streams()
        position = truncation * truncated_normal(start_rng, NOISE_DIM)
        # Start by moving towards the far side of zero, as the reference does.
        direction = np.where(position < 0, 1.0, -1.0)
        last_step = np.zeros(NOISE_DIM)
        factors = np.ones(NOISE_DIM)
        margin = step_per_frame
        for first in range(0, n_frames, block_frames):
            last = min(n_frames, first + block_frames)
            motion = np.empty((last - first, NOISE_DIM))
            for k in range(first, last):
                if k % jitter_period == 0:
                    factors = np.where(jitter_rng.random(NOISE_DIM) < 0.5, 1.0, 1.0 - jitter)
                if part_noise:
                    drive_k = np.full(NOISE_DIM, motion_drive[k])
                    for dims, sub_drive in part_noise:
                        drive_k[dims] = sub_drive[k]
                    step = step_per_frame * drive_k * direction * factors
                else:
                    step = step_per_frame * motion_drive[k] * direction * factors
                step = keep * last_step + (1.0 - keep) * step
                last_step = step
                position = position + step
                motion[k - first] = position
                direction = np.where(position >= edge - margin, -1.0, np.where(position < -edge + margin, 1.0, direction))
            if part_pulses or part_noise:
                push = envelope[first:last, None] * pulse_direction[None, :]
                for part_envelope, part_sign in part_pulses:
                    push = push + part_envelope[first:last, None] * part_sign[None, :]
                for dims, _ in part_noise:
                    push[:, dims] = 0.0  # only its part moves a noise subspace
                noise = motion + pulse_depth * push
            else:
                noise = motion + pulse_depth * envelope[first:last, None] * pulse_direction[None, :]
            yield np.clip(noise, -edge, edge).astype(np.float32)

    # --- classes from chroma -----------------------------------------------------------
    chroma = None
    if by_target["classes"]:
        chroma = pitch_drive(by_target["classes"], gain)
    class_indices, class_weights = _class_weights(features, n_frames, params, fps, class_rng, where=where, chroma=chroma)
    scenes = conducting.scenes if conducting is not None else None
    scene_sets = None
    if scenes is not None:
        scene_sets = scene_classes(class_indices, scenes.shape[1], seed=int(params["seed"]), user_classes=bool(params["class_ids"]))

    def class_blocks() -> Iterator[np.ndarray]:
        """(frames, 1000) one-hot-ish rows: the few used classes' weights, zeros elsewhere."""
        for start in range(0, n_frames, block_frames):
            rows = np.zeros((min(n_frames, start + block_frames) - start, NUM_CLASSES), dtype=np.float32)
            if scene_sets is None:
                rows[:, class_indices] = class_weights[start : start + block_frames]
            else:
                # Scenes cross-fade: each scene's classes take the same weights, scaled by its share.
                weights = class_weights[start : start + block_frames].astype(np.float64)
                accumulated = np.zeros(rows.shape)
                for scene, indices in enumerate(scene_sets):
                    share = scenes[start : start + block_frames, scene]
                    if share.any():
                        accumulated[:, indices] += share[:, None] * weights
                rows[:] = accumulated.astype(np.float32)
            yield rows

    truncation_per_frame = np.full(n_frames, truncation, dtype=np.float32)
    if by_target["truncation"]:
        # A part's level opens the truncation from (1 - depth) x truncation (silence) up to
        # truncation (full velocity); the noise keeps within the widest bound.
        level = np.max([drive_signal(d, gain) for d in by_target["truncation"]], axis=0)
        depth = max(d.depth for d in by_target["truncation"])
        opened = truncation * (1.0 - depth + level)
        truncation_per_frame = np.maximum(TRUNCATION_STEP, np.round(opened / TRUNCATION_STEP) * TRUNCATION_STEP).astype(np.float32)

    walk = {
        "noise": StreamedArray((n_frames, NOISE_DIM), np.dtype(np.float32), noise_blocks),
        "classes": StreamedArray((n_frames, NUM_CLASSES), np.dtype(np.float32), class_blocks),
        "truncation": truncation_per_frame,
        "fps_num": np.int64(fps.numerator),
        "fps_den": np.int64(fps.denominator),
        "class_indices": np.asarray(class_indices, dtype=np.int64),
        "motion_drive": motion_drive.astype(np.float32),
        # With parts on the pulse, what pushes is their envelopes (each along its own direction).
        "pulse_drive": (sum(part for part, _ in part_pulses) if part_pulses else envelope).astype(np.float32),
    }
    if gain is not None:
        walk["dynamics_gain"] = gain.astype(np.float32)
    if drives:
        walk.update(conduct_members(drives, gain, n_frames))
    if part_noise:
        owner = np.full(NOISE_DIM, -1, dtype=np.int64)
        for index, drive in enumerate(drives):
            if drive.target == "noise":
                owner[owned[drive.part]] = index
        walk["noise_owner"] = owner
    if scene_sets is not None:
        walk["scene_class_indices"] = scene_sets
        walk["scene_weights"] = scenes.astype(np.float32)
    return walk


def part_direction(seed: int, part: str) -> np.ndarray:
    """The ±1 direction of a part's pulse in the 128 noise dimensions, from the seed and its name."""
    return np.where(part_seed(seed, part, "pulse").random(NOISE_DIM) < 0.5, 1.0, -1.0)
