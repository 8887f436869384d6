"""Read any supported score file (MIDI, MusicXML, MuseScore) into one :class:`Score`.

The readers each know one format; this module picks the reader from the file's suffix,
so the score model itself depends on no reader.
"""

from __future__ import annotations

from pathlib import Path

from dreamreel.core.errors import DreamreelError
from dreamreel.score import midi_file, musicxml
from dreamreel.score import musescore as musescore_cli
from dreamreel.score.model import Score, validate_score


def read_score(path: str | Path, *, musescore: str | None = None) -> Score:
    """Read any supported score file into a :class:`Score`.

    ``.mid``/``.midi`` through mido, ``.musicxml``/``.xml``/``.mxl`` through our
    MusicXML reader, ``.mscz``/``.mscx`` by exporting MusicXML with the MuseScore CLI
    (``musescore`` names its executable; found on PATH when None).
    """
    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "score file not found", "check piece.score in params.yaml (or SCORE=...) and the file name")
    suffix = path.suffix.lower()
    if suffix in (".mid", ".midi"):
        score = midi_file.read_midi(path)
    elif suffix in (".musicxml", ".xml", ".mxl"):
        score = musicxml.read_musicxml(path)
    elif suffix in (".mscz", ".mscx"):
        score = musescore_cli.read_with_musescore(path, executable=musescore)
    else:
        raise DreamreelError(str(path), f"unsupported score type '{suffix}'", "use .mid, .musicxml, .mxl, .mscz or .mscx")
    score.source = str(path)
    return validate_score(score, str(path))
