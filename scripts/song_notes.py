"""A song's notes as a score on the song's clock: its MIDI file placed in it, or its transcription.

Inputs:  SONG (the song's imported master, build/<piece>/mix/master.wav: its length, and
         the audio transcribed), and --midi MIDI (the MIDI file the user gave, MIDI= or
         song.midi) or --transcribe (song.transcribe: basic-pitch)
Outputs: OUT (build/<piece>/song/notes-score.json): a score.json whose seconds are the
         song's seconds, read by notes.py as the song's notes
Params:  song.midi_offset_s, song.midi_tolerance_s, song.midi_tail_s (a MIDI file);
         song.onset_threshold, song.frame_threshold, song.min_note_s (transcription)
"""

from __future__ import annotations

import argparse
import sys
import time

from dreamreel.core.atomic import write_bytes_atomic
from dreamreel.core.errors import run_cli
from dreamreel.core.params import add_params_name_option, load_section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("song", help="the song's master, build/<piece>/mix/master.wav")
    parser.add_argument("out", help="score JSON to write, e.g. build/<piece>/song/notes-score.json")
    parser.add_argument("--params", required=True, help="build/<piece>/params/song.json")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--midi", help="the song's MIDI file, as the user named it")
    source.add_argument("--transcribe", action="store_true", help="transcribe the song with basic-pitch's model")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    from dreamreel.core.audio_io import summed_mono_blocks
    from dreamreel.score.musical_time import TempoMap

    params, where = load_section(args.params, "song", params_name=args.params_name)
    samples, rate, read_blocks = summed_mono_blocks([args.song])
    song_s = samples / rate
    started = time.monotonic()
    if args.midi:
        from dreamreel.score.midi_file import read_midi
        from dreamreel.score.song_notes import song_score

        score = song_score(read_midi(args.midi), offset_s=params["midi_offset_s"], song_s=song_s, tolerance_s=params["midi_tolerance_s"],
                           tail_s=params["midi_tail_s"], where=args.midi)
        how = f"{args.midi} at {params['midi_offset_s']:g} s"
    else:
        from dreamreel.score.transcribe import transcribe_blocks

        score = transcribe_blocks(read_blocks(), rate, params=params, where=f"{where}.transcribe")
        how = f"transcribed by basic-pitch in {time.monotonic() - started:.1f} s"
    write_bytes_atomic(args.out, score.to_json())
    notes = sum(len(part.notes) for part in score.parts)
    last_s = TempoMap.from_score(score).tick_to_seconds(max(n.end_tick for part in score.parts for n in part.notes))
    print(f"song_notes: {notes} notes in {len(score.parts)} parts ({', '.join(score.part_names())}) up to {last_s:.2f} s of {song_s:.2f} s, {how}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
