"""The score conducts the walk: each mapped part's notes drive its own target.

``conduct:`` in params maps a part to what it drives (``{drives: pulse, depth: 0.6}``) and
``sections`` to a change of scene at each section start. This module turns that mapping,
``notes.npz`` (per-part note signals, sections, bars; see the notes stage) and, for a part
that has only audio (a song's stems without notes), ``features.npz``'s ``part_*`` members
into per-frame drive signals for the walks (:mod:`.latents` for BigGAN and cppn,
:mod:`dreamreel.gan.models.stylegan` for StyleGAN). A target that no part drives keeps its
audio drive from the summed features.

Which signal drives which target:

* pulse, noise, and StyleGAN's coarse/middle/fine layer groups: the note-on impulse
  (velocity/127 on the frame where a note starts, no analysis latency); a part without
  notes: its onset strength;
* motion: the sustained-note envelope; a part without notes: its RMS;
* classes (BigGAN, cppn) and anchors (StyleGAN): the pitch-class histogram of the sounding
  notes, its strongest class at 1 (like the chroma it replaces); needs notes;
* truncation: the velocity of the loudest sounding note; a part without notes: its RMS.

Every signal looks only at its own frame (the note signals are exact per frame), so the
walks stay as causal as they were. Dynamics across sections (:func:`dynamics_gain`): a
slow level of the analysed audio against a long-release reference scales the audio drives,
so a quiet passage moves slowly, while note drives carry the score's own dynamics in their
velocities.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.gan.sections import BIGGAN_TARGETS, CPPN_TARGETS, SCENE_TARGET, SECTIONS_KEY, STYLEGAN_TARGETS

# Which note signal (from notes.npz) and which audio signal (from features.npz) drive a target.
NOTE_SIGNAL = {
    "pulse": "note_on", "noise": "note_on", "coarse": "note_on", "middle": "note_on", "fine": "note_on",
    "motion": "envelope", "truncation": "velocity", "classes": "pitch_classes", "anchors": "pitch_classes",
}
AUDIO_SIGNAL = {
    "pulse": "part_onset", "noise": "part_onset", "coarse": "part_onset", "middle": "part_onset", "fine": "part_onset",
    "motion": "part_rms", "truncation": "part_rms",
}
PITCH_TARGETS = ("classes", "anchors")


def model_targets(model: str) -> tuple[str, ...]:
    """The targets a part can drive for ``gan.model`` (auto and BigGAN share one walk)."""
    if model == "stylegan":
        return STYLEGAN_TARGETS
    if model == "cppn":
        return CPPN_TARGETS
    return BIGGAN_TARGETS


@dataclass(frozen=True)
class Drive:
    """One part driving one target: ``signal`` float64 (N,), or (N, 12) for pitch targets, in [0, 1]."""

    part: str
    target: str
    depth: float
    dims: int
    source: str  # "notes" or "audio"
    signal: np.ndarray


@dataclass(frozen=True)
class Conducting:
    """What the mapping resolved to: the drives in mapping order and the scene weights.

    ``scenes`` is float64 (N, S): the weight of scene s at frame k (rows sum to 1), or
    None without ``sections: {drives: scene}``; ``section_start_frame`` (S,) beside it.
    """

    drives: tuple[Drive, ...]
    scenes: np.ndarray | None
    section_start_frame: np.ndarray

    def for_target(self, target: str) -> list[Drive]:
        return [drive for drive in self.drives if drive.target == target]


def part_seed(seed: int, part: str, purpose: str) -> np.random.Generator:
    """A generator of its own for one part and purpose, the same on every machine and run."""
    return np.random.default_rng([int(seed), zlib.crc32(part.encode("utf-8")), zlib.crc32(purpose.encode("ascii"))])


def _match_part(key: str, names: list[str], score) -> str | None:
    """The part ``key`` means, spelled any way ``parts:`` accepts (name, label, or a slug of either)."""
    if score is not None:
        found = score.find_part_name(key)
        if found is not None and found in names:
            return found
    if key in names:
        return key
    from dreamreel.score.model import slugify

    slug = slugify(key)
    return slug if slug in names else None


def _check_frames(array: np.ndarray, n_frames: int, name: str, where: str) -> np.ndarray:
    if array.shape[0] != n_frames:
        raise DreamreelError(f"{where}: {name}", f"has {array.shape[0]} frames, features.npz has {n_frames}", "rebuild notes.npz (make rebuilds it from features.npz)")
    return array


def _pitch_signal(histogram: np.ndarray) -> np.ndarray:
    """A pitch-class histogram (N, 12) scaled so each frame's strongest class is 1, like the chroma."""
    peak = histogram.max(axis=1, keepdims=True)
    return np.where(peak > 0, histogram / np.where(peak > 0, peak, 1.0), 0.0)


def beats_to_seconds(score, start_s: float, beats: float) -> float:
    """How long ``beats`` beats last from ``start_s``, in the score's tempo and meter there (ramps included)."""
    from dreamreel.score.musical_time import MusicalClock

    clock = MusicalClock.from_score(score)
    tick = Fraction(clock.seconds_to_tick(start_s)).limit_denominator(1 << 20)
    bar, _ = clock.tick_to_position(tick)
    end = tick + Fraction(beats).limit_denominator(1 << 10) * clock.beat_ticks(bar)
    return float(clock.tick_to_seconds(float(end))) - start_s


# How much of a song before a section start its tempo is estimated from.
TEMPO_WINDOW_S = 8.0


def song_beat_s(features: Mapping[str, Any], start_frame: int, *, where: str) -> float:
    """A song's beat length (s) just before ``start_frame``, from the onset strength of the
    ``TEMPO_WINDOW_S`` before it: only what came before, so a later change leaves it as it is."""
    import librosa

    fps = int(features["fps_num"]) / int(features["fps_den"])
    onset = np.asarray(features["onset"][max(0, start_frame - round(TEMPO_WINDOW_S * fps)) : start_frame], dtype=np.float64)
    if len(onset) < 2 * fps or not onset.any():
        raise DreamreelError(where, f"there is no beat to count in before the section at {start_frame / fps:.1f} s", "give crossfade_s (seconds) instead")
    bpm = float(librosa.feature.tempo(onset_envelope=onset, sr=fps, hop_length=1, ac_size=TEMPO_WINDOW_S)[0])
    return 60.0 / bpm


def scene_weights(section_start_frame: np.ndarray, crossfade_frames: list[int], n_frames: int) -> np.ndarray:
    """Weight of each section's scene per frame, float64 (N, S); rows sum to 1.

    Scene s fades in linearly from its start frame f over c frames (frame f already shows
    1/c of it; c = 0 cuts), taking its share from the scenes before it. Nothing before f
    depends on section s.
    """
    starts = np.asarray(section_start_frame, dtype=np.int64)
    weights = np.zeros((n_frames, len(starts)))
    weights[:, 0] = 1.0
    frames = np.arange(n_frames)
    for s in range(1, len(starts)):
        length = max(int(crossfade_frames[s]), 1)
        ramp = np.clip((frames - starts[s] + 1) / length, 0.0, 1.0)
        weights[:, :s] *= (1.0 - ramp)[:, None]
        weights[:, s] = ramp
    return weights


def resolve(conduct: Mapping[str, Any], *, notes: Mapping[str, Any] | None, features: Mapping[str, Any], model: str,
            score=None, where: str = "params.yaml: conduct", notes_where: str = "notes.npz") -> Conducting:
    """Check the mapping against the piece and the model, and build each drive's signal.

    Parameters
    ----------
    conduct : mapping
        The ``conduct`` section (:func:`dreamreel.gan.sections.validate_conduct`'s output).
    notes : mapping or None
        notes.npz opened (``parts``, per-frame note signals, ``section_start_frame``), or
        None when the piece has none (only audio parts from features.npz can be named).
    features : mapping
        features.npz opened: its frame count and rate, and ``part_names``/``part_onset``/
        ``part_rms`` for parts without notes.
    model : str
        ``gan.model``: which targets exist (:func:`model_targets`).
    score : dreamreel.score.model.Score or None
        The score, for part labels and for ``crossfade_beats`` in its tempo.
    where, notes_where : str
        How messages name the conduct section and notes.npz.

    Raises
    ------
    DreamreelError
        A part the piece lacks (the message lists its parts), a target the model lacks
        (it lists the model's targets), a pitch target for a part without notes, noise
        subspaces wanting more than 64 dimensions together, or crossfade_beats in a song
        with no beat before a section.
    """
    n_frames = int(np.asarray(features["power"]).shape[0])
    fps = Fraction(int(features["fps_num"]), int(features["fps_den"]))
    note_parts = [str(name) for name in np.asarray(notes["parts"]).tolist()] if notes is not None else []
    audio_parts = [str(name) for name in np.asarray(features["part_names"]).tolist()] if "part_names" in features else []
    if notes is not None:
        if int(notes["n_frames"]) != n_frames or Fraction(int(notes["fps_num"]), int(notes["fps_den"])) != fps:
            raise DreamreelError(notes_where, f"has {int(notes['n_frames'])} frames at {int(notes['fps_num'])}/{int(notes['fps_den'])} fps, "
                                 f"features.npz {n_frames} at {fps}", "rebuild notes.npz from this features.npz (make does)")
    known = note_parts + [name for name in audio_parts if name not in note_parts]
    targets = model_targets(model)
    drives = []
    keys: dict[str, str] = {}  # part -> the key the mapping gave it, for messages
    noise_dims = 0
    for key, entry in conduct.items():
        if key == SECTIONS_KEY:
            continue
        here = f"{where}.{key}"
        part = _match_part(key, known, score)
        if part is None:
            listed = ", ".join(known) if known else "none (the piece has no notes and no stems of its own)"
            raise DreamreelError(here, f"the piece has no part {key!r}", f"name one of its parts: {listed}")
        if part in keys:
            raise DreamreelError(here, f"names the same part as conduct.{keys[part]} (the part {part!r})", "keep one of the two, with all its targets")
        keys[part] = key
        wanted = [entry["drives"]] if isinstance(entry["drives"], str) else list(entry["drives"])
        for target in wanted:
            if target not in targets:
                extra = f"; {SCENE_TARGET} is driven by conduct.{SECTIONS_KEY}" if target == SCENE_TARGET else ""
                raise DreamreelError(f"{here}.drives", f"{model} has no target {target!r}{extra}", f"use one of: {', '.join(targets)}")
            if part in note_parts:
                index = note_parts.index(part)
                name = NOTE_SIGNAL[target]
                column = _check_frames(np.asarray(notes[name]), n_frames, name, notes_where)[:, index]
                signal = _pitch_signal(np.asarray(column, dtype=np.float64)) if target in PITCH_TARGETS else np.asarray(column, dtype=np.float64)
                source = "notes"
            else:
                if target in PITCH_TARGETS:
                    raise DreamreelError(f"{here}.drives", f"{part!r} has no notes, so no pitch classes for {target}",
                                         "give the song's MIDI (MIDI=) or drive another target from this part")
                name = AUDIO_SIGNAL[target]
                column = _check_frames(np.asarray(features[name]), n_frames, name, "features.npz")[:, audio_parts.index(part)]
                signal = np.asarray(column, dtype=np.float64)
                source = "audio"
            if target == "noise":
                noise_dims += int(entry["dims"])
            drives.append(Drive(part, target, float(entry["depth"]), int(entry["dims"]), source, np.clip(signal, 0.0, 1.0)))
    if noise_dims > 64:
        raise DreamreelError(where, f"the noise subspaces take {noise_dims} of the 128 noise dimensions", "keep their dims at 64 together, so the walk keeps half of its own")

    starts = np.asarray(notes["section_start_frame"], dtype=np.int64) if notes is not None else np.zeros(1, dtype=np.int64)
    scenes = None
    sections = conduct.get(SECTIONS_KEY)
    if sections is not None:
        if notes is None:
            raise DreamreelError(f"{where}.{SECTIONS_KEY}", "this piece has no notes.npz, so no sections", "pass --notes build/<piece>/gan/notes.npz (make does)")
        crossfades = [0]  # the first scene is there from the first frame
        for start in starts.tolist()[1:]:
            if sections["crossfade_s"] is not None:
                seconds = float(sections["crossfade_s"])
            elif score is None:
                seconds = float(sections["crossfade_beats"]) * song_beat_s(features, start, where=f"{where}.{SECTIONS_KEY}.crossfade_beats")
            else:
                seconds = beats_to_seconds(score, start / float(fps), float(sections["crossfade_beats"]))
            crossfades.append(round(seconds * float(fps)))
        scenes = scene_weights(starts, crossfades, n_frames)
    return Conducting(tuple(drives), scenes, starts)


def dynamics_gain(features: Mapping[str, Any], *, params: Mapping[str, Any]) -> np.ndarray | None:
    """How lively each frame may be, float64 (N,) in (0, 1]; None when ``dynamics`` is 0.

    The level is the analysed audio's RMS (``rms_dbfs``, before any normalisation),
    smoothed in power over ``dynamics_smoothing_s`` looking back only; the reference is
    that level's peak, released over ``dynamics_release_s``. The gain is
    ``(level / reference) ** dynamics``: at dynamics 1 a passage 12 dB under the loudest
    recent one gets a quarter of the drive, and the rolling normaliser's rescaling of
    quiet passages is undone in proportion. Both followers look only backwards, so frame
    k's gain never depends on audio after frame k.
    """
    amount = float(params["dynamics"])
    if amount == 0.0:
        return None
    fps = int(features["fps_num"]) / int(features["fps_den"])
    if "rms_dbfs" not in features:
        raise DreamreelError("features.npz", "has no 'rms_dbfs' array", "rebuild it with scripts/analyze.py")
    power = 10.0 ** (np.asarray(features["rms_dbfs"], dtype=np.float64) / 10.0)
    smooth = math.exp(-1.0 / (fps * float(params["dynamics_smoothing_s"])))
    release = math.exp(-1.0 / (fps * float(params["dynamics_release_s"])))
    gain = np.empty(len(power))
    level = power[0] if len(power) else 0.0
    reference = 0.0
    for k, value in enumerate(power.tolist()):
        level = smooth * level + (1.0 - smooth) * value
        reference = max(level, reference * release)
        gain[k] = (level / reference) ** (0.5 * amount) if reference > 0 else 1.0
    return gain


def drive_signal(drive: Drive, gain: np.ndarray | None) -> np.ndarray:
    """A conducted part's signal times its depth; an audio part's also follows the dynamics
    ``gain`` (a part's notes carry the score's dynamics in their velocities already)."""
    signal = drive.depth * drive.signal
    if gain is not None and drive.source == "audio":
        signal = signal * (gain if signal.ndim == 1 else gain[:, None])
    return signal


def pitch_drive(drives: list[Drive], gain: np.ndarray | None) -> np.ndarray:
    """The pitch classes of the parts driving classes or anchors, as a chroma (N, 12): strongest class at the parts' level."""
    combined = sum(drive_signal(drive, gain) for drive in drives)
    peak = combined.max(axis=1, keepdims=True)
    return np.where(peak > 0, combined / np.where(peak > 0, peak, 1.0), 0.0) * np.minimum(peak, 1.0)


def conduct_members(drives: tuple[Drive, ...], gain: np.ndarray | None, n_frames: int) -> dict[str, np.ndarray]:
    """What latents.npz records for the conduct picture: each (part, target) pair and its drive, float32 (N, Q)."""
    drive = np.zeros((n_frames, len(drives)), dtype=np.float32)
    for index, conducted in enumerate(drives):
        signal = drive_signal(conducted, gain)
        drive[:, index] = signal.max(axis=1) if signal.ndim == 2 else signal
    return {
        "conduct_parts": np.asarray([d.part for d in drives]),
        "conduct_targets": np.asarray([d.target for d in drives]),
        "conduct_drive": drive,
    }


# The StyleGAN mapping's input that each StyleGAN target replaces (stylegan.audio reads them).
STYLEGAN_INPUTS = {"coarse": "band_low", "middle": "band_mid", "fine": "band_high", "pulse": "onset", "anchors": "chroma", "truncation": "rms"}


def stylegan_inputs(inputs: Mapping[str, np.ndarray], *, gain: np.ndarray | None, conducting: Conducting | None) -> dict[str, np.ndarray]:
    """The StyleGAN mapping's inputs with the dynamics gain and the conducted parts in place.

    The audio drives (bands, onsets, loudness) are scaled by ``gain``; a target a part
    drives takes that part's signal instead (several parts: the strongest at each frame).
    """
    result = dict(inputs)
    if gain is not None:
        for name in ("band_low", "band_mid", "band_high", "onset", "rms"):
            result[name] = (np.asarray(result[name], dtype=np.float64) * gain).astype(np.float32)
    if conducting is None:
        return result
    for target, name in STYLEGAN_INPUTS.items():
        drives = conducting.for_target(target)
        if not drives:
            continue
        if target == "anchors":
            signal = pitch_drive(drives, gain)
        else:
            signal = np.max([drive_signal(drive, gain) for drive in drives], axis=0)
        result[name] = np.clip(signal, 0.0, 1.0).astype(np.float32)
    return result
