"""Make out/<piece>.mp4 and out/<piece>.mkv: the picture with the master mix, stream-copied.

Inputs:  build/video/picture.mkv (from compose), build/mix/master.wav (48 kHz stereo).
Outputs: out/<piece>.mp4 (H.264 copy + AAC, faststart) and out/<piece>.mkv (H.264 copy
         + FLAC); the audio padded or trimmed to the picture's exact length.
Params:  mux section: aac_bitrate_kbps, flac_level; piece section (--piece): title, name.
Metadata: title, model (the picture's model tag or --model), dreamreel_params (a hash of
         the --hash files).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import add_params_name_option, load_section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("picture", type=Path, help="build/video/picture.mkv")
    parser.add_argument("audio", type=Path, help="build/mix/master.wav")
    parser.add_argument("--mp4", required=True, type=Path, help="output out/<piece>.mp4")
    parser.add_argument("--mkv", required=True, type=Path, help="output out/<piece>.mkv")
    parser.add_argument("--params", required=True, type=Path, help="build/params/mux.json")
    parser.add_argument("--piece", required=True, type=Path, help="build/params/piece.json (title, name)")
    parser.add_argument("--model", help="GAN model name for the metadata (default: the picture's model tag)")
    parser.add_argument("--hash", nargs="*", default=[], type=Path, help="parameter files whose hash goes into the metadata")
    parser.add_argument("--ffmpeg", help="ffmpeg binary (default: $FFMPEG, else ffmpeg on PATH)")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    from dreamreel.core.ffmpeg_tools import find_ffmpeg, probe_video
    from dreamreel.schema import PIECE
    from dreamreel.video.mux import model_name, mux, params_hash
    from dreamreel.video.sections import MUX

    for path, suffix in ((args.mp4, ".mp4"), (args.mkv, ".mkv")):
        if path.suffix != suffix:
            raise DreamreelError(str(path), f"must end in {suffix}", f"name it out/<piece>{suffix}")
    params, _ = load_section(args.params, "mux", params_name=args.params_name, schema=MUX)
    piece, _ = load_section(args.piece, "piece", params_name=args.params_name, schema=PIECE)
    tool = find_ffmpeg(args.ffmpeg)
    model = model_name(probe_video(tool, args.picture), args.model)
    metadata = {
        "title": piece["title"] or piece["name"],
        "model": model,
        "dreamreel_params": params_hash(args.hash),
    }
    done = mux(args.picture, args.audio, out_mp4=args.mp4, out_mkv=args.mkv, params=params, metadata=metadata, tool=tool)
    print(f"mux: {args.mp4} and {args.mkv}: {done.frames} frames at {done.fps} ({done.picture_s:.3f} s), audio {done.audio_s:.3f} s padded by {done.pad_samples} samples, model {model}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
