"""Make build/gan/frames.mkv: the rendered segments joined into one lossless square video.

Input:   build/gan/segments.json (from scripts/render_frames.py) and the segments it lists.
Output:  frames.mkv, the segments' FFV1 stream copied (no re-encode), exact frame rate,
         with the model used recorded in its metadata (dreamreel_model, ..._identity,
         ..._requested, ..._reason).
Params:  none.
"""

from __future__ import annotations

import argparse
import sys

from dreamreel.core.errors import run_cli


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", help="build/gan/segments.json")
    parser.add_argument("output", help="video to write, e.g. build/gan/frames.mkv")
    args = parser.parse_args(argv)

    from dreamreel.gan.render import concat_segments

    manifest = concat_segments(args.manifest, args.output)
    print(
        f"concat: {len(manifest['segments'])} segments, {manifest['n_frames']} frames at "
        f"{manifest['fps_num']}/{manifest['fps_den']} fps ({manifest['metadata'].get('dreamreel_model', '?')}) -> {args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
