"""Make build/gan/features.npz: audio features of the master mix at the video frame instants.

Input:   the master mix (build/mix/master.wav), any sample rate, mono or stereo.
Output:  features.npz with power, power_gradient, bands (low/mid/high), chroma (12),
         onset, percussive, harmonic, rms, sampled at frame k = k/fps seconds
         (N = ceil(duration × fps) frames), plus fps_num/fps_den.
Params:  features.fps, features.analysis_rate_hz, features.band_edges_hz,
         features.mel_fmax_hz, features.norm_release_s, features.gate_dbfs.
"""

from __future__ import annotations

import argparse
import sys

from dreamreel.errors import DreamreelError, run_cli  # noqa: F401  (DreamreelError is what main raises)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio", help="the master mix, e.g. build/mix/master.wav")
    parser.add_argument("output", help="features file to write, e.g. build/gan/features.npz")
    parser.add_argument("--params", required=True, help="build/params/features.json")
    args = parser.parse_args(argv)

    from dreamreel import features
    from dreamreel.audio_io import read_audio
    from dreamreel.npz import save_npz
    from dreamreel.params import read_section, validate_section

    params = validate_section(args.params, features.FEATURES, read_section(args.params))
    # Analysis is mono: averaging while reading keeps a long stereo mix out of memory.
    audio, rate = read_audio(args.audio, mono=True)
    result = features.analyze(audio, sample_rate_hz=rate, params=params, where=args.audio)
    save_npz(args.output, result)
    print(
        f"analyze: {int(result['n_frames'])} frames at {int(result['fps_num'])}/{int(result['fps_den'])} fps "
        f"({float(result['duration_s']):.2f} s) -> {args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
