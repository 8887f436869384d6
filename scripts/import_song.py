"""Make a finished song the master: SONG -> build/mix/master.wav (48 kHz stereo).

Inputs:  SONG (.wav, .flac, .mp3, .ogg, anything ffmpeg decodes; mono or stereo, any rate)
Outputs: OUT (24-bit WAV, 48 kHz stereo); the score stages are skipped
Params:  mix.normalize_song (default false: a finished song is already mastered),
         mix.loudness_lufs, mix.true_peak_dbtp when normalising
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from dreamreel.audio.loudness import integrated_loudness, normalize, true_peak_db
from dreamreel.core.audio_io import MASTER_RATE_HZ, decode_to_stereo, write_audio
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import add_params_name_option, load_section

SILENCE_PEAK = 10 ** (-90 / 20)  # below -90 dBFS there is nothing for the pictures to follow


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("song", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--params", type=Path, required=True, help="build/params/mix.json")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    settings, _ = load_section(args.params, "mix", params_name=args.params_name)
    audio = decode_to_stereo(args.song, sample_rate_hz=MASTER_RATE_HZ)
    if audio.shape[1] == 0:
        raise DreamreelError(str(args.song), "the song is empty (no audio samples)", "check the file plays, or export it again")
    if float(np.max(np.abs(audio))) < SILENCE_PEAK:
        raise DreamreelError(str(args.song), "the song is silent (peak below -90 dBFS)", "choose the right file, or export it again with sound")
    if settings["normalize_song"]:
        audio, report = normalize(audio, MASTER_RATE_HZ, loudness_lufs=settings["loudness_lufs"], true_peak_dbtp=settings["true_peak_dbtp"])
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0:
        # A 24-bit file cannot hold a float overshoot; lower the level rather than clip it.
        audio = audio / np.float32(peak)
        print(f"song: peaks over full scale, level lowered by {20 * np.log10(peak):.2f} dB to avoid clipping", file=sys.stderr)
    write_audio(args.out, audio, MASTER_RATE_HZ, subtype="PCM_24")
    print(
        f"song: {audio.shape[1] / MASTER_RATE_HZ:.2f} s, {integrated_loudness(audio, MASTER_RATE_HZ):.1f} LUFS, "
        f"true peak {true_peak_db(audio):.2f} dBTP",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
