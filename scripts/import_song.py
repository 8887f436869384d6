"""Make a finished song the master: SONG -> build/mix/master.wav (48 kHz stereo).

Inputs:  SONG, anything ffmpeg decodes: WAV, FLAC, MP3, OGG, AAC (.m4a), Opus (.webm,
         .opus), WMA, or the sound track of a video (.mp4, .mkv, .mov); any channel
         count (more than two are mixed down to stereo, with a note), any rate
Outputs: OUT (24-bit WAV, 48 kHz stereo); the score stages are skipped
Params:  mix.normalize_song (default false: a finished song is already mastered),
         mix.loudness_lufs, mix.true_peak_dbtp when normalising

The song streams through ffmpeg twice, block by block: once to measure it (length, peak,
silence), once to write it, so memory does not grow with its length. Normalising
(mix.normalize_song: true) streams it a few more times (measure, each gain round, true
peak) and writes the limited song a chunk at a time: memory stays flat there too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from dreamreel.audio.loudness import LoudnessMeter, TruePeakMeter, normalize_stream
from dreamreel.core.audio_io import MASTER_RATE_HZ, write_audio_blocks
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.ffmpeg_tools import find_ffmpeg
from dreamreel.core.memory import keep_large_buffers_out_of_the_heap
from dreamreel.core.params import add_params_name_option, load_section
from dreamreel.core.song_io import SongInfo, decode_song_blocks, probe_song

SILENCE_PEAK = 10 ** (-90 / 20)  # below -90 dBFS there is nothing for the pictures to follow


def downmix_note(info: SongInfo) -> str:
    """The one line that says a song with more than two channels was mixed down, and how."""
    layout = info.channel_layout or f"no layout named in the file, taken as ffmpeg's default for {info.channels} channels"
    return (f"dreamreel: note: {info.path.name} has {info.channels} channels ({layout}); mixed down to stereo "
            "(ITU-R BS.775: centre and surrounds at -3 dB, LFE left out; the level is lowered if the sum passes full scale)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("song", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--params", type=Path, required=True, help="build/params/mix.json")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    settings, _ = load_section(args.params, "mix", params_name=args.params_name)
    if settings["normalize_song"]:
        # The normalisation's per-chunk buffers (oversampled peaks, gain curves: 2-17 MB
        # each) are freed and made again many times over; kept out of the heap, they leave
        # no growing heap behind them.
        keep_large_buffers_out_of_the_heap()
    tool = find_ffmpeg()
    info = probe_song(args.song, tool=tool)
    if info.channels > 2:
        print(downmix_note(info), file=sys.stderr)

    def decoded():
        return decode_song_blocks(info, sample_rate_hz=MASTER_RATE_HZ, tool=tool)

    # First pass: measure only. A silent hour is refused here, having held one block at a time.
    samples, peak = 0, 0.0
    for block in decoded():
        samples += block.shape[1]
        peak = max(peak, float(np.max(np.abs(block))))
    if samples == 0:
        raise DreamreelError(str(args.song), "the song is empty (no audio samples)", "check the file plays, or export it again")
    if peak < SILENCE_PEAK:
        raise DreamreelError(str(args.song), "the song is silent (peak below -90 dBFS)", "choose the right file, or export it again with sound")

    if settings["normalize_song"]:
        # Decoded again for each pass of the normalisation (measure, each gain round, true
        # peak, write); a chunk at a time, so memory stays flat as in the plain import.
        # normalize_stream keeps the true peak under the ceiling, so nothing passes full scale.
        normalized, report = normalize_stream(decoded, MASTER_RATE_HZ, loudness_lufs=settings["loudness_lufs"],
                                              true_peak_dbtp=settings["true_peak_dbtp"])
        write_audio_blocks(args.out, normalized(), MASTER_RATE_HZ, channels=2, subtype="PCM_24")
        loudness_lufs, true_peak_dbtp = report.loudness_out_lufs, report.true_peak_out_dbtp
    else:
        # Second pass: the same samples again, scaled if needed, measured and written block by block.
        gain = np.float32(1.0)
        if peak > 1.0:
            # A 24-bit file cannot hold a float overshoot; lower the level rather than clip it.
            gain = np.float32(peak)
            print(f"song: peaks over full scale, level lowered by {20 * np.log10(peak):.2f} dB to avoid clipping", file=sys.stderr)
        loudness = LoudnessMeter(MASTER_RATE_HZ, 2)
        true_peak = TruePeakMeter(2)

        def written():
            for block in decoded():
                block = block / gain if gain != 1.0 else block
                loudness.add(block)
                true_peak.add(block)
                yield block

        write_audio_blocks(args.out, written(), MASTER_RATE_HZ, channels=2, subtype="PCM_24")
        loudness_lufs, true_peak_dbtp = loudness.integrated_lufs(), true_peak.peak_db()
    print(f"song: {samples / MASTER_RATE_HZ:.2f} s, {loudness_lufs:.1f} LUFS, true peak {true_peak_dbtp:.2f} dBTP", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
