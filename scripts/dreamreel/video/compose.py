"""Compose the square GAN video into the 1920x1080 picture: one ffmpeg pass, one encode.

The graph rendered by :mod:`dreamreel.video.graph` is written beside the picture
(``graph.txt``) and that very file is what ffmpeg reads, so the file a user opens is
what ran. Both files are written atomically and together: a failed run leaves neither.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from dreamreel.core.atomic import atomic_path
from dreamreel.core.ffmpeg_tools import FFmpeg, VideoInfo, colour_names, probe_video, run_ffmpeg
from dreamreel.video.graph import WHERE, InputShape, RenderedGraph, render


def input_shape(info: VideoInfo) -> InputShape:
    """The graph-relevant facts of a probed video."""
    return InputShape(width=info.width, height=info.height, fps=info.fps, frames=info.frames)


def encoder_args(params: Mapping[str, Any], graph: RenderedGraph) -> list[str]:
    """libx264 settings: CRF and preset from params, BT.709 tags matching the graph's matrix."""
    args = ["-c:v", "libx264", "-crf", str(params["crf"]), "-preset", str(params["preset"]), "-pix_fmt", graph.pix_fmt]
    if graph.pix_fmt.endswith("10le"):
        args += ["-profile:v", "high10"]
    return args + ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"]


def compose_picture(
    frames: str | Path,
    picture: str | Path,
    graph_file: str | Path,
    params: Mapping[str, Any],
    *,
    filters_dir: str | Path,
    tool: FFmpeg,
    where: str = WHERE,
) -> VideoInfo:
    """Run the whole graph over ``frames`` and encode ``picture`` once; return the input's probe.

    The input's container tags (the GAN model's name among them) are copied to the
    picture so that mux can read them without another input. ``where`` names the params
    section in messages (``"<the user's params file>: video"``).
    """
    info = probe_video(tool, frames)
    graph = render(params, input_shape(info), filters_dir=filters_dir, where=where, colour_names=colour_names(tool.ffmpeg))
    with atomic_path(graph_file) as graph_tmp, atomic_path(picture) as picture_tmp:
        graph_tmp.write_text(graph.text, encoding="utf-8")
        args = [
            "-i", str(frames),
            *tool.script_args(graph_tmp),
            "-map", graph.output_label,
            "-map_metadata", "0",
            # Frames leave the graph on the exact grid already; never drop or duplicate.
            "-fps_mode", "passthrough",
            *encoder_args(params, graph),
            "-an",
            # Same inputs, same bytes: no random UIDs or version strings in the container.
            "-fflags", "+bitexact",
            str(picture_tmp),
        ]
        run_ffmpeg(tool, args, where=str(picture), fix=f"check {frames} and the video params (a colour or font ffmpeg does not know?)")
    return info
