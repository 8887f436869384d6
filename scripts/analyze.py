"""Make build/gan/features.npz: audio features of the music at the video frame instants.

Input:   one or more audio files of equal length and rate, summed: the score's rendered
         stems (build/stems/*.wav, features.source: stems) or the master mix
         (build/mix/master.wav); mono or stereo, any sample rate.
Output:  features.npz with power, power_gradient, bands (low/mid/high), chroma (12),
         onset, percussive, harmonic, rms, sampled at frame k = k/fps seconds
         (N = ceil(duration × fps) frames), plus fps_num/fps_den.
         With --part-names (one name per input file, the stems' part names), also each
         part's own part_bands (N, P, 3), part_onset (N, P) and part_rms (N, P), and
         part_names (P,); the summed features are the same either way.
         With --part-audio as well (a song's stems, STEMS=), the parts are those files
         instead, analysed beside the audio (the song), checked against it and fitted to
         its length (dreamreel.audio.song_stems).
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
    parser.add_argument("--part-names", nargs="+", default=None, metavar="PART",
                        help="the part each audio file is, in the same order: also analyse each part on its own")
    parser.add_argument("--part-audio", nargs="+", default=None, metavar="WAV",
                        help="with --part-names: the parts' own audio (a song's stems), analysed beside the summed audio")
    parser.add_argument("--part-tolerance-s", type=float, default=0.5,
                        help="how much a --part-audio file's length may differ from the audio's (song.stems_tolerance_s)")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    from dreamreel.core.audio_io import summed_mono_blocks
    from dreamreel.core.memory import keep_large_buffers_out_of_the_heap
    from dreamreel.core.npz import save_npz
    from dreamreel.gan import features
    from dreamreel.gan.sections import FEATURES

    params, where = load_section(args.params, "features", params_name=args.params_name, schema=FEATURES)
    keep_large_buffers_out_of_the_heap()
    # Analysis is mono, and streams: the stems are averaged and added block by block as the
    # analysis reads them, so memory does not grow with the song.
    samples, rate, read_blocks = summed_mono_blocks(args.audio)
    result = features.analyze_blocks(read_blocks, samples=samples, sample_rate_hz=rate, params=params, where=" + ".join(args.audio), params_where=where)
    if args.part_audio is not None:
        from dreamreel.audio.song_stems import song_stem_inputs

        if args.part_names is None:
            parser.error("--part-audio needs --part-names")
        inputs = song_stem_inputs(args.part_audio, song_samples=samples, song_rate_hz=rate, tolerance_s=args.part_tolerance_s)
        result.update(part_features(args.part_audio, args.part_names, params=params, params_where=where, inputs=inputs, n_frames=int(result["n_frames"])))
    elif args.part_names is not None:
        result.update(part_features(args.audio, args.part_names, params=params, params_where=where))
    save_npz(args.output, result)
    print(
        f"analyze: {int(result['n_frames'])} frames at {int(result['fps_num'])}/{int(result['fps_den'])} fps "
        f"({float(result['duration_s']):.2f} s) -> {args.output}",
        file=sys.stderr,
    )
    return 0


def part_features(paths: list[str], names: list[str], *, params: dict, params_where: str, inputs: list | None = None, n_frames: int | None = None) -> dict:
    """``part_names``, ``part_bands``, ``part_onset``, ``part_rms``: each file analysed on its own, one at a time.

    ``inputs`` gives each file as (samples, rate, read_blocks) already fitted to the summed
    audio's length; its frames are then cut or padded with silence to ``n_frames`` (a
    stem at another rate may round to one frame more or less).
    """
    import numpy as np

    from dreamreel.core.audio_io import summed_mono_blocks
    from dreamreel.gan import features

    if len(names) != len(paths) or len(set(names)) != len(names):
        raise DreamreelError("analyze.py --part-names", f"{len(names)} names for {len(paths)} audio files ({' '.join(names)})",
                             "give one different name per audio file, in the same order")
    found = []
    for index, path in enumerate(paths):
        samples, rate, read_blocks = summed_mono_blocks([path]) if inputs is None else inputs[index]
        part = features.analyze_part_blocks(read_blocks, samples=samples, sample_rate_hz=rate, params=params, params_where=params_where)
        if n_frames is not None:
            part = {key: np.concatenate([value[:n_frames], np.zeros((max(0, n_frames - len(value)),) + value.shape[1:], value.dtype)]) for key, value in part.items()}
        found.append(part)
    return {"part_names": np.asarray(names, dtype=str), **{f"part_{key}": np.stack([part[key] for part in found], axis=1)
                                                           for key in features.PART_FEATURE_KEYS}}


if __name__ == "__main__":
    sys.exit(run_cli(main))
