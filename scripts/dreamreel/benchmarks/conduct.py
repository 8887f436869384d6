"""The score conducts the picture (issue 11): dynamics across sections, note-to-picture correlation.

Dynamics.  A synthetic song, loud drum sections around a 30 s drumless breakdown at a
lower level, is analysed and walked; the walk speed (mean |Δnoise| per second) in the
breakdown against the drum sections, with ``latents.dynamics`` 0 (the rolling
normaliser alone) and at its default.

Correlation.  For each conducted part, the Pearson correlation between its note-on
signal (for classes: how far its pitch classes moved) and the visual change of what it drives, on cppn frames rendered at 48 px: pulse
-> whole-frame mean absolute difference; noise -> the frame difference after a 3x3
high-pass; classes and motion have no frame-level signature of their own, so the latent
motion they drive is used (|Δclasses|, |Δnoise| outside the parts' subspaces), and the
row says so. The same correlation for today's audio-only walk (no conduct) is the
baseline, and ``lag_frames`` is where the cross-correlation within ±5 frames peaks.
Pieces: the demo score, and a score built here with 4/4, 3/4 and 7/8 bars and a tempo ramp.

``python -m dreamreel.benchmarks.conduct OUT_DIR [--quick]`` runs it standalone.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

SCRIPTS = Path(__file__).resolve().parents[2]
REPO = SCRIPTS.parent
FPS = 30
ANALYSIS_RATE_HZ = 11025
LOUD_S = 20.0
BREAKDOWN_S = 30.0
# How far (frames) either side the cross-correlation's peak is looked for.
MAX_LAG_FRAMES = 5


def breakdown_song(*, sample_rate_hz: int = ANALYSIS_RATE_HZ, loud_s: float = LOUD_S, breakdown_s: float = BREAKDOWN_S,
                   breakdown_db: float = -12.0, seed: int = 0) -> tuple[np.ndarray, tuple[float, float]]:
    """Loud drums and chords, a drumless breakdown of picked chords ``breakdown_db`` lower, loud again.

    Returns the song, float32 (1, samples), and the breakdown's (start_s, end_s).
    """
    rng = np.random.default_rng(seed)
    total = 2 * loud_s + breakdown_s
    t = np.arange(int(round(total * sample_rate_hz))) / sample_rate_hz
    # A chord that changes every 2 s (so the chroma and harmonic energy keep moving).
    roots = np.array([220.0, 196.0, 174.61, 246.94])[(t // 2.0).astype(int) % 4]
    chord = sum(0.1 * np.sin(2 * np.pi * np.cumsum(roots * ratio) / sample_rate_hz) for ratio in (1.0, 1.26, 1.5))
    beat = t % 0.5
    kick = 0.5 * np.exp(-beat * 25) * np.sin(2 * np.pi * 55 * beat)
    hats = 0.08 * rng.standard_normal(len(t)) * np.exp(-(t % 0.25) * 50)
    # The breakdown keeps moving without drums: the chord's notes picked in turn, a
    # sixteenth apart, as a piano or harp would; only its level says it is quiet.
    pick = t % 0.125
    arpeggio = 0.3 * np.exp(-pick * 12) * np.sin(2 * np.pi * roots * np.array([1.0, 1.26, 1.5, 2.0])[(t // 0.125).astype(int) % 4] * pick)
    quiet = (t >= loud_s) & (t < loud_s + breakdown_s)
    song = np.where(quiet, (0.5 * chord + arpeggio) * 10 ** (breakdown_db / 20), chord + kick + hats)
    return song[None, :].astype(np.float32), (loud_s, loud_s + breakdown_s)


def walk_speed(noise: np.ndarray, *, fps: float, start_s: float, end_s: float, settle_s: float = 3.0) -> float:
    """Mean |Δnoise| per second (per dimension) between ``start_s + settle_s`` and ``end_s``."""
    first, last = int(round((start_s + settle_s) * fps)), int(round(end_s * fps))
    steps = np.abs(np.diff(np.asarray(noise[first:last], dtype=np.float64), axis=0))
    return float(steps.mean() * fps)


def dynamics_ratios(features: dict, breakdown: tuple[float, float], *, dynamics: list[float]) -> dict[float, float]:
    """Walk speed in the breakdown over that in the loud sections, per ``latents.dynamics`` value."""
    from dreamreel.core.params import validate_section
    from dreamreel.gan.latents import make_walk
    from dreamreel.gan.sections import LATENTS

    fps = int(features["fps_num"]) / int(features["fps_den"])
    end = len(features["power"]) / fps
    ratios = {}
    for amount in dynamics:
        noise = make_walk(features, params=validate_section("bench", LATENTS, {"dynamics": amount}))["noise"]
        loud = 0.5 * (walk_speed(noise, fps=fps, start_s=0.0, end_s=breakdown[0]) + walk_speed(noise, fps=fps, start_s=breakdown[1], end_s=end))
        ratios[amount] = walk_speed(noise, fps=fps, start_s=breakdown[0], end_s=breakdown[1]) / loud
    return ratios


def breakdown_features(*, quick: bool = False) -> tuple[dict, tuple[float, float]]:
    """The breakdown song analysed at 11025 Hz and 30 fps (shorter sections when ``quick``)."""
    from dreamreel.core.params import validate_section
    from dreamreel.gan.features import analyze
    from dreamreel.gan.sections import FEATURES

    scale = 0.5 if quick else 1.0
    song, breakdown = breakdown_song(loud_s=LOUD_S * scale, breakdown_s=BREAKDOWN_S * scale)
    params = validate_section("bench", FEATURES, {"fps": FPS, "analysis_rate_hz": ANALYSIS_RATE_HZ})
    return analyze(song, sample_rate_hz=ANALYSIS_RATE_HZ, params=params), breakdown


def _dynamics_rows(quick: bool) -> list[dict]:
    from dreamreel.gan.sections import LATENTS

    default = float(LATENTS.fields["dynamics"].default)
    started = time.perf_counter()
    features, breakdown = breakdown_features(quick=quick)
    ratios = dynamics_ratios(features, breakdown, dynamics=[0.0, default, 1.0])
    seconds = time.perf_counter() - started
    song_s = len(features["power"]) / FPS
    label = f"{song_s:g} s song: loud drums, {breakdown[1] - breakdown[0]:g} s drumless breakdown 12 dB down"
    return [{"benchmark": "conduct", "stage": f"walk speed, breakdown / drums, dynamics {amount:g}", "input": label, "seconds": round(seconds, 2),
             "x_realtime": round(song_s / seconds, 1), "peak_rss_mb": None, "speed_ratio": round(ratio, 3), "reference_tool": 0.18}
            for amount, ratio in ratios.items()]


# The built score: bars of 4/4, 3/4 and 7/8, the tempo ramping from 90 to 150 BPM.
METERS = [(4, 4)] * 3 + [(3, 4)] * 3 + [(7, 8)] * 3 + [(4, 4)] * 3
TICKS = 480


def ramp_score_midi(path: Path, *, seed: int = 0) -> Path:
    """Write the built score: marimba strokes, vibraphone chords, glockenspiel sparkles; meters and a tempo ramp."""
    import mido

    rng = np.random.default_rng(seed)
    conductor, starts, tick = [], [], 0
    for numerator, denominator in METERS:
        conductor.append((tick, mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator)))
        starts.append((tick, numerator, denominator))
        tick += numerator * TICKS * 4 // denominator
    end = tick
    for beat_tick in range(0, end, TICKS):
        bpm = 90.0 + 60.0 * beat_tick / end
        conductor.append((beat_tick, mido.MetaMessage("set_tempo", tempo=int(round(60_000_000 / bpm)))))
    parts = {"Marimba": (12, []), "Vibraphone": (11, []), "Glockenspiel": (9, [])}
    for bar, (start, numerator, denominator) in enumerate(starts):
        step = TICKS // 2  # eighths in every meter
        length = numerator * TICKS * 4 // denominator
        for offset in range(0, length, step):
            if rng.random() < 0.7:
                parts["Marimba"][1].append((start + offset, start + offset + step // 2, int(rng.choice([45, 48, 52, 55])), int(rng.integers(50, 120))))
            if rng.random() < 0.15:
                parts["Glockenspiel"][1].append((start + offset, start + offset + step, int(rng.choice([79, 84, 88, 91])), int(rng.integers(60, 127))))
        root = [60, 65, 62, 67][bar % 4]
        for pitch in (root, root + 4, root + 7):
            parts["Vibraphone"][1].append((start, start + length, pitch, 70))
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS)
    tracks = [conductor] + [[(0, mido.MetaMessage("track_name", name=name)), (0, mido.Message("program_change", channel=i, program=program))]
                            + [event for s, e, p, v in notes for event in ((s, mido.Message("note_on", channel=i, note=p, velocity=v)),
                                                                           (e, mido.Message("note_off", channel=i, note=p, velocity=0)))]
                            for i, (name, (program, notes)) in enumerate(parts.items())]
    for events in tracks:
        track, previous = mido.MidiTrack(), 0
        for at, message in sorted(events, key=lambda item: (item[0], item[1].type == "note_on")):
            track.append(message.copy(time=at - previous))
            previous = at
        midi.tracks.append(track)
    midi.save(str(path))
    return path


def _build_notes(folder: Path, score: Path) -> Path:
    """features.npz and notes.npz of a score through the real Makefile (stems, analysis, notes); the piece's build folder."""
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "params.yaml").write_text(f"piece: {{name: bench, score: {score.resolve()}}}\nfeatures: {{fps: {FPS}, analysis_rate_hz: {ANALYSIS_RATE_HZ}}}\n")
    command = ["make", "--no-print-directory", "-s", "-f", str(REPO / "Makefile"), "-C", str(folder), "SETUP=", f"PY={sys.executable}"]
    subprocess.run([*command, "notes"], check=True, capture_output=True)
    return folder / subprocess.run([*command, "build-dir"], check=True, capture_output=True, text=True).stdout.strip()


def _frame_changes(walk: dict, size_px: int) -> tuple[np.ndarray, np.ndarray]:
    """cppn frames of ``walk``: per-frame whole-frame mean |Δ| and mean |Δ| after a 3x3 high-pass; (N,), (N,)."""
    from scipy.ndimage import uniform_filter

    from dreamreel.gan.models.cppn import CPPN

    model = CPPN(size_px=size_px, seed=0)
    n = walk["noise"].shape[0]
    whole, fine = np.zeros(n), np.zeros(n)
    previous = previous_high = None
    for start in range(0, n, 64):
        frames = model.render({"noise": walk["noise"][start : start + 64], "classes": walk["classes"][start : start + 64]}).astype(np.float64)
        high = frames - uniform_filter(frames, size=(1, 3, 3, 1), mode="nearest")
        for offset in range(len(frames)):
            if previous is not None:
                whole[start + offset] = np.abs(frames[offset] - previous).mean()
                fine[start + offset] = np.abs(high[offset] - previous_high).mean()
            previous, previous_high = frames[offset], high[offset]
    return whole, fine


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    scale = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / scale) if scale > 0 else 0.0


def _lag(signal: np.ndarray, change: np.ndarray) -> int:
    """The shift (frames) at which ``change`` follows ``signal`` best, within ±MAX_LAG_FRAMES."""
    n = len(signal)
    scores = {lag: _pearson(signal[max(0, -lag) : n - max(0, lag)], change[max(0, lag) : n - max(0, -lag)]) for lag in range(-MAX_LAG_FRAMES, MAX_LAG_FRAMES + 1)}
    return max(scores, key=scores.get)


def correlation_rows(name: str, build_dir: Path, mapping: dict, *, size_px: int) -> list[dict]:
    """Per conducted part: r(note-on, visual change) conducted vs the audio-only walk, and the lag."""
    from dreamreel.core.npz import open_npz
    from dreamreel.core.params import validate_section
    from dreamreel.gan.conduct import resolve
    from dreamreel.gan.latents import make_walk
    from dreamreel.gan.sections import LATENTS, validate_conduct
    from dreamreel.score.model import load_score_json

    features = open_npz(build_dir / "gan/features.npz")
    notes = open_npz(build_dir / "gan/notes.npz")
    params = validate_section("bench", LATENTS, {})
    conducting = resolve(validate_conduct(mapping, "bench: conduct"), notes=notes, features=features, model="cppn",
                         score=load_score_json(build_dir / "score/score.json"))
    started = time.perf_counter()
    walks = {"conducted": make_walk(features, params=params, conducting=conducting), "audio": make_walk(features, params=params)}
    changes = {key: _frame_changes(walk, size_px) for key, walk in walks.items()}
    seconds = time.perf_counter() - started
    parts = [str(p) for p in np.asarray(notes["parts"]).tolist()]
    n = walks["audio"]["noise"].shape[0]
    rows = []
    for drive in conducting.drives:
        if drive.target == "classes":
            # What moves the classes is a change of harmony: how far the part's pitch classes moved.
            histogram = np.asarray(notes["pitch_classes"][:, parts.index(drive.part), :], dtype=np.float64)
            note_on, signal_name = np.r_[0.0, np.abs(np.diff(histogram, axis=0)).sum(axis=1)], "|Δpitch classes|"
        else:
            note_on, signal_name = np.asarray(notes["note_on"][:, parts.index(drive.part)], dtype=np.float64), "note-on"
        measures = {}
        for key, walk in walks.items():
            if drive.target == "pulse":
                measures[key], what = changes[key][0], f"whole-frame mean |Δpixel|, cppn {size_px} px"
            elif drive.target == "noise":
                measures[key], what = changes[key][1], f"3x3 high-passed frame |Δ|, cppn {size_px} px"
            else:
                # The class mix shows as a slow change of palette and form: pixels mix it with the
                # rest of the walk, so the latent it drives is measured.
                measures[key] = np.r_[0.0, np.abs(np.diff(np.asarray(walk["classes"], dtype=np.float64), axis=0)).sum(axis=1)]
                what = "latent: Σ|Δclasses| (pixels mix it with the rest of the walk)"
        rows.append({"benchmark": "conduct", "stage": f"{drive.part} -> {drive.target}", "input": f"{name}, {n} frames @{FPS} fps",
                     "seconds": round(seconds, 2), "x_realtime": round(n / FPS / seconds, 1), "peak_rss_mb": None,
                     "signal": signal_name, "measure": what, "r_conducted": round(_pearson(note_on, measures["conducted"]), 3),
                     "r_audio_walk": round(_pearson(note_on, measures["audio"]), 3), "lag_frames": _lag(note_on, measures["conducted"])})
    return rows


DEMO_MAPPING = {"marimba": {"drives": "pulse", "depth": 0.8}, "vibraphone": {"drives": "classes"},
                "glockenspiel": {"drives": "noise", "depth": 1.0, "dims": 16}, "sections": {"drives": "scene", "crossfade_beats": 2}}


def run(out_dir: Path, quick: bool) -> list[dict]:
    """Dynamics across sections and the per-part correlations."""
    sys.path.insert(0, str(SCRIPTS))
    out_dir = Path(out_dir) / "conduct-bench"
    rows = _dynamics_rows(quick)
    size_px = 32 if quick else 48
    out_dir.mkdir(parents=True, exist_ok=True)
    built = ramp_score_midi(out_dir / "ramp.mid")
    rows += correlation_rows("built score: 4/4, 3/4, 7/8, 90->150 BPM", _build_notes(out_dir / "ramp", built), DEMO_MAPPING, size_px=size_px)
    if not quick:
        rows += correlation_rows("demo score", _build_notes(out_dir / "demo", REPO / "scores/demo.musicxml"), DEMO_MAPPING, size_px=size_px)
    return rows


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.out_dir, args.quick), indent=1))
