"""Audio stage timings: the demo score through every stage, and a 3-minute song import."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from dreamreel.benchmarks import measure, python_script
from dreamreel.core import processes
from dreamreel.core.audio_io import write_audio
from dreamreel.score.model import load_score_json
from dreamreel.score.musical_time import MusicalClock

ROOT = Path(__file__).resolve().parents[3]
PART = {"gain_db": 0.0, "mute": False, "pan": None, "tremolo": {"speed_hz": 6, "depth_pct": 33},
        "reverb": {"reverberance_pct": 60, "hf_damping_pct": 50, "room_scale_pct": 55, "stereo_depth_pct": 100, "pre_delay_ms": 0, "wet_gain_db": 0}}
MIX = {"dry_gain_db": 0.0, "wet_gain_db": -6.0, "loudness_lufs": -14.0, "true_peak_dbtp": -1.0, "normalize_song": False}


def _row(stage: str, what: str, audio_s: float, m) -> dict:
    return {"stage": stage, "input": what, "seconds": round(m.seconds, 3), "x_realtime": round(audio_s / m.seconds, 1), "peak_rss_mb": round(m.peak_rss_mb, 1)}


def run(out_dir: Path, quick: bool) -> list[dict]:
    from dreamreel.audio.soundfont import find_soundfont

    work = out_dir / "audio"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    score_json = work / "score.json"
    m = measure(python_script("parse_score") + [ROOT / "scores/demo.musicxml", score_json])
    score = load_score_json(score_json)
    duration_s = MusicalClock.from_score(score).duration_s + 3.0
    what = f"demo score, {len(score.parts)} parts, {duration_s:.1f} s"
    rows = [_row("parse_score", what, duration_s, m)]

    stems_params = work / "stems.json"
    stems_params.write_text(json.dumps({"soundfont": find_soundfont("auto"), "synth_gain": 0.5, "tail_s": 3.0}))
    m = measure(python_script("render_stems") + [score_json, "--params", stems_params, "--out-dir", work / "stems"])
    rows.append(_row("render_stems (FluidSynth)", what, duration_s, m))

    part_params = work / "part.json"
    part_params.write_text(json.dumps(PART))
    total_s, peak = 0.0, 0.0
    for part in score.parts:
        m = measure(python_script("process_stem") + [work / "stems" / f"{part.name}.wav", "--params", part_params, "--score", score_json,
                                                     "--dry", work / f"{part.name}.dry.wav", "--wet", work / f"{part.name}.wet.wav"])
        total_s += m.seconds
        peak = max(peak, m.peak_rss_mb)
    rows.append({"stage": "process_stem (tremolo, reverb), all parts", "input": what, "seconds": round(total_s, 3),
                 "x_realtime": round(duration_s / total_s, 1), "peak_rss_mb": round(peak, 1)})

    mix_params = work / "mix.json"
    mix_params.write_text(json.dumps(MIX))
    m = measure(python_script("mix") + [work / "master.wav", "--params", mix_params,
                                        "--dry", *[work / f"{p.name}.dry.wav" for p in score.parts],
                                        "--wet", *[work / f"{p.name}.wet.wav" for p in score.parts]])
    rows.append(_row("mix (sum, loudness, limiter)", what, duration_s, m))

    song_s = 30.0 if quick else 180.0
    rng = np.random.default_rng(0)
    song_wav = work / "song-source.wav"
    write_audio(song_wav, (rng.standard_normal((2, int(song_s * 44100))) * 0.1).astype(np.float32), 44100)
    song = work / "song.mp3"
    processes.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", song_wav, "-b:a", "192k", song], check=True)
    m = measure(python_script("import_song") + [song, work / "song-master.wav", "--params", mix_params])
    rows.append(_row("import_song (mp3 44.1 kHz -> 48 kHz)", f"{song_s:.0f} s mp3", song_s, m))
    return rows
