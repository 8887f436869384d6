"""Make build/gan/features.npz: audio features of the music at the video frame instants.

Input:   one or more audio files of equal length and rate, summed: the score's rendered
         stems (build/stems/*.wav, features.source: stems) or the master mix
         (build/mix/master.wav); mono or stereo, any sample rate.
Output:  features.npz with power, power_gradient, bands (low/mid/high), chroma (12),
         onset, percussive, harmonic, rms, sampled at frame k = k/fps seconds
         (N = ceil(duration × fps) frames), plus fps_num/fps_den.
Params:  features.fps, features.source (chosen by the Makefile), features.analysis_rate_hz, features.band_edges_hz,
         features.mel_fmax_hz, features.norm_release_s, features.gate_dbfs.
"""

from __future__ import annotations

import argparse
import sys

from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import add_params_name_option, load_section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio", nargs="+", help="the audio to analyse, summed: the stems (build/stems/*.wav) or the master mix")
    parser.add_argument("output", help="features file to write, e.g. build/gan/features.npz")
    parser.add_argument("--params", required=True, help="build/params/features.json")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    from dreamreel.core.audio_io import read_audio
    from dreamreel.core.npz import save_npz
    from dreamreel.gan import features
    from dreamreel.gan.sections import FEATURES

    params, where = load_section(args.params, "features", params_name=args.params_name, schema=FEATURES)
    # Analysis is mono: averaging while reading keeps a long stereo file out of memory, and
    # the stems are added one at a time.
    audio, rate = read_audio(args.audio[0], mono=True)
    for path in args.audio[1:]:
        more, more_rate = read_audio(path, mono=True)
        if (more_rate, more.shape) != (rate, audio.shape):
            raise DreamreelError(path, f"{more.shape[1]} samples at {more_rate} Hz, but {args.audio[0]} has {audio.shape[1]} at {rate} Hz", "render the stems again (make audio): they must all be the same length")
        audio += more
        del more
    result = features.analyze(audio, sample_rate_hz=rate, params=params, where=" + ".join(args.audio), params_where=where)
    save_npz(args.output, result)
    print(
        f"analyze: {int(result['n_frames'])} frames at {int(result['fps_num'])}/{int(result['fps_den'])} fps "
        f"({float(result['duration_s']):.2f} s) -> {args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
