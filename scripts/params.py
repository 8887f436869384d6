"""Split a params file into build/<piece>/params/<section>.json (one per stage) and params.mk.

Inputs:  PARAMS (params.yaml, or any params file), and optionally --song or --score: a
         source the user named on the command line (SONG=... make), which replaces the
         params file's own piece.score / piece.song; for a song, --midi and --stems (MIDI=,
         STEMS=), which replace song.midi and song.stems
Outputs: OUT_DIR/<section>.json for every section; OUT_DIR/parts.json (every part named in
         the params file, merged over part_defaults); OUT_DIR/model.json (gan.model,
         gan.weights and video.loop: what the latent walk is for); OUT_DIR/source.json (which score or song
         this piece is: switching source rebuilds even when the new file is older);
         OUT_DIR/cache.json (gan.cache_limit_mb, gan.executor, gan.ray_workers: they change no
         frame, and Make does not track them); a link to the
         source under OUT_DIR/../source/, named without spaces so Make can track it; and
         the makefile fragment MAKEFILE: PIECE, SCORE_FILE/SCORE_PATH or SONG_FILE/SONG_PATH
         (the link, and the path the user wrote, for messages), SOUNDFONT, GAN_MODEL,
         GAN_WEIGHTS, GAN_BLEND_WITH (a blend's second model), GAN_CACHE_DIR (gan.cache_dir,
         absolute; empty = the piece's own gan/segments), TITLE_FONT (a title font file),
         ANALYSIS_SOURCE, EFFECTS and EFFECTS_CLOCK (whether effects.chain lists
         effects, and beat or bar signals), and for a song MIDI_FILE/MIDI_PATH (its MIDI
         file's link and path), TRANSCRIBE (song.transcribe, when on) and SONG_STEMS /
         SONG_STEM_PARTS (links to its stems, under ../source/stems/, and their part
         names: the WAV files' names, slugified) and SONG_STEMS_TOLERANCE_S. JSON files are
         rewritten only when their bytes change, so Make reruns only the stages whose
         parameters moved.
Params:  all sections. Relative paths in a params file (piece.score, piece.song, gan.weights,
         gan.blend.with, gan.cache_dir, video.title.font, stems.soundfont) are relative to the folder of that file.
With --song or --score, the piece's name and title come from that file (its title tag, else
its file name), unless the params file names that same source itself; the parts named in
conduct: (those of the params file's own score) are dropped, its sections entry kept.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from dreamreel import schema
from dreamreel.audio.soundfont import find_soundfont
from dreamreel.core import params as params_lib
from dreamreel.core.atomic import replace_if_changed, replace_link_if_changed, write_bytes_atomic
from dreamreel.core.errors import DreamreelError, notice, run_cli
from dreamreel.core.ffmpeg_tools import media_title
from dreamreel.core.makefile import make_text, make_value, required_file_rule
from dreamreel.score.model import slugify
from dreamreel.video.sections import MUSICAL_SIGNALS, font_is_file

# gan keys that decide how and where the segments are rendered, never their bytes.
RUN_KEYS = ("cache_limit_mb", "cache_dir", "executor", "ray_workers")


def _relative_to_cwd(params_path: Path, value: str | None) -> str:
    """A path written in the params file, as seen from where make runs."""
    if not value:
        return ""
    path = Path(value).expanduser()
    if path.is_absolute():
        return str(path)
    return os.path.relpath(params_path.parent / path)


def piece_name(path: str) -> str:
    """A name for out/<name>.mp4 from a file name: letters, digits, '.', '_' and '-' only."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(path).stem).strip("-._")
    return name or "piece"


def resolve_source(args, piece: dict, where: str) -> tuple[str, str, str]:
    """(kind, path as seen from where make runs, where it was named) of the piece's source."""
    if args.song or args.score:
        kind, value = ("song", args.song) if args.song else ("score", args.score)
        named_at = f"{kind.upper()}={value}"
        path = os.path.relpath(Path(value).expanduser())
        fix = f"check the path given to {kind.upper()}= (relative to the folder where make runs)"
    elif piece["song"] or piece["score"]:
        kind = "song" if piece["song"] else "score"
        named_at = f"{where}.{kind}"
        path = _relative_to_cwd(args.params, piece[kind])
        fix = f"check piece.{kind} in {args.params} (relative to the folder of {Path(args.params).name})"
    else:
        raise DreamreelError(where, "names neither a score nor a song", "set piece.score: scores/<file>.musicxml or piece.song: media/<song>.mp3")
    if not Path(path).exists():
        raise DreamreelError(named_at, f"{kind} file {path!r} not found", fix)
    if not Path(path).is_file():
        raise DreamreelError(named_at, f"{path!r} is not a file", fix)
    return kind, path, named_at


# STEMS= values that ask for the stems to be separated from the song rather than given.
SEPARATORS = ("demucs", "auto")


def _named_input(args, params_value: str | None, command_value: str, variable: str, key: str) -> tuple[str, str, str]:
    """(path as seen from where make runs, where it was named, fix) of MIDI= or STEMS=, else song.<key>."""
    if command_value:
        return os.path.relpath(Path(command_value).expanduser()), f"{variable}={command_value}", f"check the path given to {variable}= (relative to the folder where make runs)"
    if params_value:
        return _relative_to_cwd(args.params, params_value), f"{args.params}: song.{key}", f"check song.{key} in {args.params} (relative to the folder of {Path(args.params).name})"
    return "", "", ""


def song_stems(folder: str, named_at: str, fix: str) -> list[tuple[str, str]]:
    """(part name, path) of every WAV file in a song's stems folder, in name order.

    The folder must hold WAV files only (hidden files such as .DS_Store aside), each naming
    a different part; their rates and lengths are checked against the song by the analysis.
    """
    path = Path(folder)
    if not path.is_dir():
        raise DreamreelError(named_at, f"stems folder {folder!r} not found" if not path.exists() else f"{folder!r} is not a folder", fix)
    entries = sorted(entry for entry in path.iterdir() if not entry.name.startswith("."))
    others = [entry.name for entry in entries if not (entry.is_file() and entry.suffix.lower() == ".wav")]
    if others:
        raise DreamreelError(named_at, f"stems folder {folder!r} holds {', '.join(repr(name) for name in others[:3])}, not WAV files",
                             "convert each stem to .wav, and move anything else out of the folder")
    if not entries:
        raise DreamreelError(named_at, f"stems folder {folder!r} holds no WAV files", "put one .wav per part in it (bass.wav, drums.wav, ...)")
    stems: dict[str, str] = {}
    for entry in entries:
        name = slugify(entry.stem)
        if name in stems:
            raise DreamreelError(named_at, f"{Path(stems[name]).name!r} and {entry.name!r} both name the part {name!r}", "rename one of them")
        stems[name] = str(entry)
    return list(stems.items())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("params", type=Path, help="params.yaml")
    parser.add_argument("--song", default="", help="a song that replaces the piece's source (SONG=)")
    parser.add_argument("--score", default="", help="a score that replaces the piece's source (SCORE=)")
    parser.add_argument("--midi", default="", help="a MIDI file of the song's notes (MIDI=)")
    parser.add_argument("--stems", default="", help="a folder of the song's stems, one WAV per part (STEMS=)")
    parser.add_argument("--out-dir", type=Path, required=True, help="folder for the section JSON files")
    parser.add_argument("--makefile", type=Path, required=True, help="makefile fragment to write")
    args = parser.parse_args(argv)

    params = schema.load(args.params)
    sections = dict(params.sections)
    piece = dict(sections["piece"])
    where = f"{args.params}: piece"
    kind, source, named_at = resolve_source(args, piece, where)
    if args.song or args.score:
        # The params file's name and title belong to its own source, not to this one.
        title = (media_title(source) if kind == "song" else None) or Path(source).stem
        video_title = sections["video"]["title"]
        if video_title["text"] == piece["title"]:
            sections["video"] = dict(sections["video"], title=dict(video_title, text=title))
        piece.update(name=piece_name(source), title=title, score=None, song=None)
        # conduct: names the parts of the params file's own score; the sections entry still applies.
        dropped = sorted(key for key in sections["conduct"] if key != "sections")
        if dropped:
            notice(f"{args.params}: conduct", f"{', '.join(dropped)} belong to this file's own piece and are left out for {args.song or args.score}; "
                   "to conduct its parts, write a params file for it (piece.song or piece.score, and conduct:)")
        sections["conduct"] = {key: value for key, value in sections["conduct"].items() if key == "sections"}
    piece[kind] = source
    sections["piece"] = piece

    rules = []

    def tracked(key: str, value: str, what: str, fix: str) -> str:
        """A file the params name, seen from where make runs, made a Make prerequisite that
        stops the build with our one line if it goes missing."""
        path = _relative_to_cwd(args.params, value)
        missing = DreamreelError(f"{args.params}: {key}", f"{what} {value!r} does not exist", f"{fix} (relative to the folder of {args.params.name})")
        rules.append(required_file_rule(path, missing))
        return path

    soundfont = find_soundfont(sections["stems"]["soundfont"]) if kind == "score" else None
    if soundfont is not None:
        soundfont = tracked("stems.soundfont", soundfont, "soundfont", "give the path of a General MIDI .sf2 file, or auto")
        sections["stems"] = dict(sections["stems"], soundfont=soundfont)
    title = sections["video"]["title"]
    title_font = ""
    if title and title["text"].strip() and font_is_file(title["font"]):
        title_font = tracked("video.title.font", title["font"], "font file", "put the font in media/ and give its path, or name an installed family such as 'DejaVu Sans'")
        sections["video"] = dict(sections["video"], title=dict(title, font=title_font))
    video = sections["video"]
    if video["loop"]:
        for key in ("fade_in_s", "fade_out_s", "boomerang_s"):
            if video[key] > 0:
                raise DreamreelError(f"{args.params}: video.{key}", f"a looping video (video.loop: true) cannot have {key} {video[key]:g}: the loop's cut would show it", f"set {key}: 0")
    # video.loop bends the latent walk: it goes to model.json (what the walk is for), only
    # when true, and not to video.json, which compose reads. Editing it re-walks and
    # re-renders; a piece without a loop keeps the very files (and params hash) it had.
    loop = video["loop"]
    sections["video"] = {key: value for key, value in video.items() if key != "loop"}
    weights = sections["gan"]["weights"]
    if weights:
        if sections["gan"]["model"] == "stylegan":  # a StyleGAN file is a prerequisite of the walk
            weights = tracked("gan.weights", weights, "model file", "give the path of a StyleGAN .pkl or .pt file")
        else:  # BigGAN weights are a folder, read by the renderer
            weights = _relative_to_cwd(args.params, weights)
        sections["gan"] = dict(sections["gan"], weights=weights)
    blend = sections["gan"]["blend"]
    blend_with = ""
    if blend and blend.get("with"):
        # The second model of a blend is read by the renderer: a new version re-renders.
        blend_with = tracked("gan.blend.with", blend["with"], "model file", "give the path of a StyleGAN .pkl or .pt file")
        sections["gan"] = dict(sections["gan"], blend=dict(blend, **{"with": blend_with}))

    # Every node of a cluster reads the cache by the same path, so it is made absolute here.
    cache_dir = os.path.abspath(_relative_to_cwd(args.params, sections["gan"]["cache_dir"])) if sections["gan"]["cache_dir"] else ""

    # Make tracks the source through a link with a plain name; the recipe passes the path
    # the user wrote, so messages name that file.
    link = args.out_dir.parent / "source" / f"{kind}{Path(source).suffix.lower()}"
    links = [(link, source, f"{kind} file", named_at)]  # (link, target, what it is, where it was named)
    song_lines = []
    song = sections["song"]
    midi, midi_named_at, midi_fix = _named_input(args, song["midi"], args.midi, "MIDI", "midi")
    stems_folder, stems_named_at, stems_fix = _named_input(args, song["stems"], args.stems, "STEMS", "stems")
    if kind == "score" and (args.midi or args.stems):
        raise DreamreelError(f"MIDI={args.midi}" if args.midi else f"STEMS={args.stems}", "a score has its own notes and parts", "give MIDI= and STEMS= with a song (SONG=)")
    if kind == "song":
        if midi and song["transcribe"] != "off":
            raise DreamreelError(f"{args.params}: song.transcribe", f"{midi_named_at} gives the song's notes, and song.transcribe: {song['transcribe']} would too", "choose one: remove the MIDI file, or set transcribe: off")
        midi_link = ""
        if midi:
            if not Path(midi).is_file():
                raise DreamreelError(midi_named_at, f"MIDI file {midi!r} not found" if not Path(midi).exists() else f"{midi!r} is not a file", midi_fix)
            midi_link = str(args.out_dir.parent / "source" / "midi.mid")
            links.append((Path(midi_link), midi, "MIDI file", midi_named_at))
        if stems_folder and Path(stems_folder).name.lower() in SEPARATORS and not Path(stems_folder).exists():
            raise DreamreelError(stems_named_at, "automatic source separation (demucs) is not built in: its model weights download on first use, and builds run offline",
                                 "separate the song into one WAV per part with a tool you trust, and give their folder: STEMS=stems/")
        stems = song_stems(stems_folder, stems_named_at, stems_fix) if stems_folder else []
        stems_dir = args.out_dir.parent / "source" / "stems"
        stem_links = [stems_dir / f"{name}.wav" for name, _ in stems]
        links += [(made, path, "stem", stems_named_at) for made, (_, path) in zip(stem_links, stems)]
        # A stems folder that changed since the last split holds other parts: split again.
        folder_rule = [f"{args.makefile}: {make_value(stems_named_at, os.path.normpath(stems_folder))}"] if stems_folder else []
        song_lines = [
            f"MIDI_FILE := {make_value(midi_named_at, midi_link)}",
            f"MIDI_PATH := {make_text(midi)}",
            f"TRANSCRIBE := {song['transcribe'] if song['transcribe'] != 'off' else ''}",
            f"SONG_STEMS := {' '.join(make_value(stems_named_at, str(path)) for path in stem_links)}",
            f"SONG_STEM_PARTS := {' '.join(make_value(stems_named_at, name) for name, _ in stems)}",
            # Only checks the stems: a new value need not analyse them again.
            f"SONG_STEMS_TOLERANCE_S := {song['stems_tolerance_s']!r}",
            *folder_rule,
        ]
        sections["song"] = dict(song, midi=midi or None, stems=stems_folder or None)
    variable = kind.upper()
    lines = [
        f"# Written by scripts/params.py from {args.params}; do not edit.",
        f"PIECE := {make_value(where + '.name', piece['name'])}",
        f"{variable}_FILE := {make_value(named_at, str(link))}",
        f"{variable}_PATH := {make_text(source)}",
        f"SOUNDFONT := {make_value(f'{args.params}: stems.soundfont', sections['stems']['soundfont'] if soundfont else '')}",
        f"GAN_MODEL := {make_value(f'{args.params}: gan.model', sections['gan']['model'])}",
        f"GAN_WEIGHTS := {make_value(f'{args.params}: gan.weights', sections['gan']['weights'] or '')}",
        f"TITLE_FONT := {make_value(f'{args.params}: video.title.font', title_font)}",
        f"GAN_BLEND_WITH := {make_value(f'{args.params}: gan.blend.with', blend_with)}",
        f"GAN_CACHE_DIR := {make_value(f'{args.params}: gan.cache_dir', cache_dir)}",
        f"ANALYSIS_SOURCE := {sections['features']['source']}",
        # The effects pass exists only when the chain lists effects; EFFECTS_CLOCK says that
        # one of them follows beats or bars, so the score (or the song's master) feeds it.
        f"EFFECTS := {'yes' if sections['effects']['chain'] else ''}",
        f"EFFECTS_CLOCK := {'yes' if any(entry['by'] in MUSICAL_SIGNALS for entry in sections['effects']['chain']) else ''}",
        *song_lines,
        *rules,
    ]
    # How the render runs and where its cache lives change no frame: a local and a Ray render
    # write the same segments under the same keys. These keys go to cache.json, which the
    # renderer reads but Make does not track, so editing them reruns nothing.
    cache = {key: sections["gan"][key] for key in RUN_KEYS if key != "cache_dir"}
    sections["gan"] = {key: value for key, value in sections["gan"].items() if key not in RUN_KEYS}
    for name, values in sections.items():
        replace_if_changed(args.out_dir / f"{name}.json", params_lib.canonical_json(values))
    replace_if_changed(args.out_dir / "parts.json", params_lib.canonical_json(params.parts))
    model = {"model": sections["gan"]["model"], "weights": sections["gan"]["weights"]}
    if loop:
        model["loop"] = True
    replace_if_changed(args.out_dir / "model.json", params_lib.canonical_json(model))
    replace_if_changed(args.out_dir / "cache.json", params_lib.canonical_json(cache))
    replace_if_changed(args.out_dir / "source.json", params_lib.canonical_json({"kind": kind, "path": os.path.abspath(source)}))

    # The links last of all, so a split that fails on a full disk leaves nothing behind.
    stems_dir = args.out_dir.parent / "source" / "stems"
    if stems_dir.is_dir():  # links to a stems folder's files that are gone from it
        kept = {made for made, *_ in links}
        for old in stems_dir.iterdir():
            if old not in kept:
                old.unlink()
    for made, target, what, where_named in links:
        replace_link_if_changed(made, os.path.abspath(target))
        lines.append(required_file_rule(str(made), DreamreelError(where_named, f"{what} {target!r} is gone", "put it back, or name another one")))
    write_bytes_atomic(args.makefile, ("\n".join(lines) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
