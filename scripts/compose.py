"""Make build/video/picture.mkv: the square GAN video composed to 1920x1080 in one encode.

Inputs:  build/gan/frames.mkv (square, lossless, exact fps); filters/*.txt templates.
Outputs: build/video/picture.mkv (H.264, yuv420p or yuv420p10le, no audio) and
         build/video/graph.txt beside it: the filter graph that ran.
Params (video section): graph, scale, pad_colour, crf, preset, ten_bit, fade_in_s,
         fade_out_s, boomerang_s, title.{text, font, size_px, colour, border_colour,
         border_px, position, margin_px, start_s, end_s, fade_s}.
The ffmpeg binary is FFMPEG (environment) or --ffmpeg, else ffmpeg on PATH.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import add_params_name_option, load_section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frames", type=Path, help="square GAN video (build/gan/frames.mkv)")
    parser.add_argument("picture", type=Path, help="output picture (build/video/picture.mkv)")
    parser.add_argument("--params", required=True, type=Path, help="build/params/video.json")
    parser.add_argument("--filters", required=True, type=Path, help="folder of filter-graph templates (filters/)")
    parser.add_argument("--graph-out", type=Path, help="where the rendered graph goes (default: graph.txt beside the picture)")
    parser.add_argument("--ffmpeg", help="ffmpeg binary (default: $FFMPEG, else ffmpeg on PATH)")
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    from dreamreel.core.ffmpeg_tools import find_ffmpeg
    from dreamreel.video.compose import compose_picture
    from dreamreel.video.sections import VIDEO

    if args.picture.suffix != ".mkv":
        raise DreamreelError(str(args.picture), "the picture must be a .mkv file", "name it build/video/picture.mkv")
    params, where = load_section(args.params, "video", params_name=args.params_name, schema=VIDEO)
    graph_out = args.graph_out or args.picture.with_name("graph.txt")
    tool = find_ffmpeg(args.ffmpeg)
    info = compose_picture(args.frames, args.picture, graph_out, params, filters_dir=args.filters, tool=tool, where=where)
    print(f"compose: {args.frames} ({info.width}x{info.height}, {info.frames} frames at {info.fps}) -> {args.picture} (graph {graph_out})")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
