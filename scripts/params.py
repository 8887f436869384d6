"""Split params.yaml into build/params/<section>.json (one per stage) and build/params/params.mk.

Inputs:  PARAMS (params.yaml)
Outputs: OUT_DIR/<section>.json for every section, OUT_DIR/parts.json (every part named in
         params.yaml, merged over part_defaults), OUT_DIR/model.json (gan.model and
         gan.weights: what the latent walk is for), and the makefile fragment MAKEFILE with
         PIECE, SCORE, SONG, SOUNDFONT, GAN_MODEL, GAN_WEIGHTS, TITLE_FONT (the title's font
         file, when it is a file: editing the font recomposes the picture) and
         ANALYSIS_SOURCE (features.source: stems or master). JSON files are
         rewritten only when their bytes change, so Make reruns only the stages whose
         parameters moved.
Params:  all sections; piece.score, piece.song and a video.title.font file are resolved
         relative to params.yaml.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dreamreel import schema
from dreamreel.audio.soundfont import find_soundfont
from dreamreel.core import params as params_lib
from dreamreel.core.atomic import replace_if_changed, write_bytes_atomic
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.makefile import make_value, required_file_rule
from dreamreel.video.sections import font_is_file


def _relative_to_cwd(params_path: Path, value: str | None) -> str:
    if not value:
        return ""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = params_path.parent / path
    return os.path.relpath(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("params", type=Path, help="params.yaml")
    parser.add_argument("--out-dir", type=Path, required=True, help="folder for the section JSON files")
    parser.add_argument("--makefile", type=Path, required=True, help="makefile fragment to write")
    args = parser.parse_args(argv)

    params = schema.load(args.params)
    piece = params.sections["piece"]
    where = f"{args.params}: piece"
    if not piece["score"] and not piece["song"]:
        raise DreamreelError(where, "names neither a score nor a song", "set piece.score: scores/<file>.musicxml or piece.song: media/<song>.mp3")
    sections = dict(params.sections)
    soundfont = find_soundfont(sections["stems"]["soundfont"])
    if soundfont is not None:
        sections["stems"] = dict(sections["stems"], soundfont=_relative_to_cwd(args.params, soundfont) if not Path(soundfont).is_absolute() else soundfont)
    title = sections["video"]["title"]
    title_font, font_rule = "", []
    if title and title["text"].strip() and font_is_file(title["font"]):
        title_font = _relative_to_cwd(args.params, title["font"])
        missing = DreamreelError(f"{args.params}: video.title.font", f"font file {title['font']!r} does not exist", "put the font in media/ and give its path (relative to params.yaml), or name an installed family such as 'DejaVu Sans'")
        font_rule = [required_file_rule(title_font, missing)]
        sections["video"] = dict(sections["video"], title=dict(title, font=title_font))
    lines = [
        f"# Written by scripts/params.py from {args.params}; do not edit.",
        f"PIECE := {make_value(where + '.name', piece['name'])}",
        f"SCORE := {make_value(where + '.score', _relative_to_cwd(args.params, piece['score']))}",
        f"SONG := {make_value(where + '.song', _relative_to_cwd(args.params, piece['song']))}",
        f"SOUNDFONT := {make_value('stems.soundfont', sections['stems']['soundfont'] if soundfont else '')}",
        f"GAN_MODEL := {make_value(f'{args.params}: gan.model', sections['gan']['model'])}",
        f"GAN_WEIGHTS := {make_value(f'{args.params}: gan.weights', sections['gan']['weights'] or '')}",
        f"TITLE_FONT := {make_value(f'{args.params}: video.title.font', title_font)}",
        f"ANALYSIS_SOURCE := {sections['features']['source']}",
        *font_rule,
    ]
    for name, values in sections.items():
        replace_if_changed(args.out_dir / f"{name}.json", params_lib.canonical_json(values))
    replace_if_changed(args.out_dir / "parts.json", params_lib.canonical_json(params.parts))
    model = {"model": sections["gan"]["model"], "weights": sections["gan"]["weights"]}
    replace_if_changed(args.out_dir / "model.json", params_lib.canonical_json(model))

    write_bytes_atomic(args.makefile, ("\n".join(lines) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
