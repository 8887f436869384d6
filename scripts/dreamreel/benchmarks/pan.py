"""8D pan speed and memory: binaural and equal-power rendering against the old per-millisecond loop.

Rows (all measured in this run, each in its own child interpreter so peak RSS is its own):

- ``pan8d binaural`` and ``pan8d pan`` on a 3-minute 48 kHz stereo stem (quick: 20 s):
  automation (an orbit, one turn per 4/4 bar at 120 BPM) evaluated, smoothed and rendered.
  ``peak_over_input`` is the child's peak RSS (interpreter, numpy and scipy included) over
  the input's size in memory (float32).
- ``old per-ms loop`` on a 45 s stem (quick: 3 s): the old tool's method, run with pydub
  itself as the old tool ran it: the stem as a 16-bit AudioSegment, cut into 1 ms slices,
  each panned with ``AudioSegment.pan`` (+|p| 3 dB on one side, 2 - 2^|p| on the other)
  and appended to the output (``out += chunk``, which copies: quadratic time).
- ``per-ms loop, preallocated``: the same pan law per 1 ms chunk, in numpy, writing into a
  preallocated array (linear time): the fairest form of a chunked loop, for honesty about
  where the speed-up comes from.
- ``pan8d pan (45 s)`` and ``pan8d binaural (45 s)``: our renderer on the same 45 s input,
  with ``x_vs_old_loop`` and ``x_vs_preallocated_loop`` ratios.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

RATE = 48_000
REPEATS = 3


def _stem(seconds: float):
    import numpy as np

    rng = np.random.default_rng(20_26)
    return (rng.standard_normal((2, int(seconds * RATE))) * 0.1).astype(np.float32)


def _automation(seconds: float):
    from dreamreel.audio.automation import parse_automation
    from dreamreel.score.model import MeterChange, Score, TempoChange
    from dreamreel.score.musical_time import MusicalClock

    bars = int(seconds / 2) + 2  # 4/4 at 120 BPM: 2 s a bar
    score = Score(480, [], [TempoChange(0, 500_000)], [MeterChange(0, 4, 4)], [i * 1920 for i in range(bars + 1)])
    spec = [{"from": 1, "to": bars, "curve": "orbit", "azimuth_deg": 0, "period_beats": 4}]
    return parse_automation(spec, MusicalClock.from_score(score), where="benchmark")


def _ours(seconds: float, mode: str) -> dict:
    from dreamreel.audio.binaural import render

    audio = _stem(seconds)
    automation = _automation(seconds)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        control = automation.control(audio.shape[-1], RATE)
        render(audio, RATE, control, mode=mode)
        times.append(time.perf_counter() - start)
    return {"seconds": min(times), "input_mb": audio.nbytes / 2**20}


def _pydub_gains(pan: float) -> tuple[float, float]:
    """pydub's pan law: the side panned to is boosted by |p| * 3 dB, the other scaled by 2 - 2^|p|."""
    boost = 10 ** (abs(pan) * 3.0 / 20)
    reduce = 2 - 2 ** abs(pan)
    return (reduce, boost) if pan > 0 else (boost, reduce)


def _pans_per_ms(seconds: float, count_ms: int):
    import numpy as np

    automation = _automation(seconds)
    return np.sin(np.radians(automation.evaluate(np.arange(count_ms) / 1000.0, end_s=seconds)[0]))


def _old_loop(seconds: float) -> dict:
    """The old tool's 8D loop, with pydub: a 1 ms slice at a time, panned and appended."""
    import numpy as np
    from pydub import AudioSegment

    audio = _stem(seconds)
    pcm = np.clip(audio.T * 32767, -32768, 32767).astype(np.int16)  # interleaved 16-bit, as pydub holds it
    stem = AudioSegment(data=pcm.tobytes(), sample_width=2, frame_rate=RATE, channels=2)
    count_ms = len(stem)
    pans = _pans_per_ms(seconds, count_ms)
    start = time.perf_counter()
    out = AudioSegment.empty()
    for index in range(count_ms):
        out += stem[index:index + 1].pan(float(pans[index]))
    elapsed = time.perf_counter() - start
    assert len(out) == count_ms
    return {"seconds": elapsed, "input_mb": audio.nbytes / 2**20}


def _preallocated_loop(seconds: float) -> dict:
    """pydub's pan law per 1 ms chunk, in numpy, into a preallocated array."""
    import numpy as np

    audio = _stem(seconds)
    pcm = np.clip(audio.T * 32767, -32768, 32767).astype(np.int16)
    count_ms = pcm.shape[0] * 1000 // RATE
    pans = _pans_per_ms(seconds, count_ms)
    per_ms = RATE // 1000
    start = time.perf_counter()
    out = np.empty((count_ms * per_ms, 2), dtype=np.int16)
    for index in range(count_ms):
        left, right = _pydub_gains(float(pans[index]))
        chunk = pcm[index * per_ms:(index + 1) * per_ms] * np.array([left, right])
        out[index * per_ms:(index + 1) * per_ms] = np.clip(chunk, -32768, 32767)
    return {"seconds": time.perf_counter() - start, "input_mb": audio.nbytes / 2**20}


def _measure(job: str, *args) -> dict:
    """Run ``job(*args)`` of this module in a fresh interpreter; its result plus its own peak RSS.

    A fresh interpreter through :func:`dreamreel.benchmarks.measure`, so the peak is of
    this job alone, whatever the caller holds.
    """
    code = (
        "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
        "from dreamreel.benchmarks import pan; "
        f"print(json.dumps(pan.{job}(*json.loads(sys.argv[2]))))"
    )
    from dreamreel.benchmarks import measure

    scripts = str(Path(__file__).resolve().parents[2])
    done = measure([sys.executable, "-c", code, json.dumps([scripts]), json.dumps(list(args))], capture_stdout=True)
    result = json.loads(done.stdout)
    result["peak_rss_mb"] = done.peak_rss_mb
    return result


def run(out_dir: Path, quick: bool) -> list[dict]:
    long_s = 20.0 if quick else 180.0
    short_s = 3.0 if quick else 45.0
    long_name = f"{long_s:g} s 48 kHz stereo stem"
    short_name = f"{short_s:g} s 48 kHz stereo stem"
    rows = []
    for mode in ("binaural", "pan"):
        result = _measure("_ours", long_s, mode)
        rows.append({
            "stage": f"pan8d {mode}", "input": long_name, "seconds": result["seconds"], "x_realtime": long_s / result["seconds"],
            "peak_rss_mb": result["peak_rss_mb"], "peak_over_input": result["peak_rss_mb"] / result["input_mb"],
        })
    old = _measure("_old_loop", short_s)
    preallocated = _measure("_preallocated_loop", short_s)
    rows.append({"stage": "old per-ms loop (baseline)", "input": short_name, "seconds": old["seconds"],
                 "x_realtime": short_s / old["seconds"], "peak_rss_mb": old["peak_rss_mb"]})
    rows.append({"stage": "per-ms loop, preallocated (baseline)", "input": short_name, "seconds": preallocated["seconds"],
                 "x_realtime": short_s / preallocated["seconds"], "peak_rss_mb": preallocated["peak_rss_mb"]})
    for mode in ("pan", "binaural"):
        result = _measure("_ours", short_s, mode)
        rows.append({
            "stage": f"pan8d {mode} ({short_s:g} s)", "input": short_name, "seconds": result["seconds"],
            "x_realtime": short_s / result["seconds"], "peak_rss_mb": result["peak_rss_mb"],
            "x_vs_old_loop": old["seconds"] / result["seconds"],
            "x_vs_preallocated_loop": preallocated["seconds"] / result["seconds"],
        })
    return rows
