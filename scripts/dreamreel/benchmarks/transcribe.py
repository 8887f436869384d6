"""What transcribing a song costs: song_notes.py --transcribe (basic-pitch's model) on 30 s and 3 min.

The song is the memory benchmark's synthetic one (a chord changing every 8 s, a kick
every half second, hats), imported to a 48 kHz master as the pipeline does; the rows time
only the transcription, the step that ``song.transcribe: basic-pitch`` adds to a song's
build, in a child process of its own (its peak memory is its own). Transcription
streams, so its peak memory should not grow with the song (rss_vs_shortest near 1).
The model runs on one CPU thread (the same notes on every machine).
"""

from __future__ import annotations

import json
from pathlib import Path

from dreamreel.benchmarks import measure, python_script
from dreamreel.benchmarks.memory import MIX, write_song


def run(out_dir: Path, quick: bool) -> list[dict]:
    from dreamreel.core.params import validate_section
    from dreamreel.score.sections import SONG

    work = out_dir / "transcribe"
    work.mkdir(parents=True, exist_ok=True)
    mix, song_params = work / "mix.json", work / "song.json"
    mix.write_text(json.dumps(MIX))
    song_params.write_text(json.dumps(validate_section("bench: song", SONG, {"transcribe": "basic-pitch"})))
    rows = []
    shortest_mb = None
    for seconds in (10.0, 30.0) if quick else (30.0, 180.0):
        song, master, notes = work / f"song-{seconds:.0f}.wav", work / f"master-{seconds:.0f}.wav", work / f"notes-{seconds:.0f}.json"
        write_song(song, seconds)
        measure(python_script("import_song") + [song, master, "--params", mix])
        m = measure(python_script("song_notes") + [master, notes, "--params", song_params, "--transcribe"])
        found = sum(len(part["notes"]) for part in json.loads(notes.read_text())["parts"])
        shortest_mb = shortest_mb or m.peak_rss_mb
        label = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
        rows.append({"stage": "song_notes --transcribe (basic-pitch, onnxruntime, 1 thread)", "input": f"{label} song, {found} notes",
                     "seconds": round(m.seconds, 2), "x_realtime": round(seconds / m.seconds, 1), "peak_rss_mb": round(m.peak_rss_mb, 1),
                     "rss_vs_shortest": round(m.peak_rss_mb / shortest_mb, 2)})
        for path in (song, master):
            path.unlink()
    return rows
