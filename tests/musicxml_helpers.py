"""Small partwise MusicXML scores written by the tests: a few parts, bars given as XML text."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

# Part names in three scripts, each of which once broke the stems (issue 15).
NON_ASCII_NAMES = ("Flûte à bec", "Гитара", "笛子")


def note(step: str = "C", octave: int = 4, quarters: int = 4) -> str:
    """One pitched note lasting ``quarters`` quarter notes (the scores use one division per quarter)."""
    return f"<note><pitch><step>{step}</step><octave>{octave}</octave></pitch><duration>{quarters}</duration></note>"


def forward_repeat() -> str:
    return '<barline location="left"><repeat direction="forward"/></barline>'


def backward_repeat(times: int | None = None) -> str:
    times_attribute = f' times="{times}"' if times is not None else ""
    return f'<barline location="right"><repeat direction="backward"{times_attribute}/></barline>'


def ending(number: str, kind: str, *, location: str | None = None) -> str:
    """A volta bracket's start (left barline) or its ``stop``/``discontinue`` (right barline)."""
    location = location or ("left" if kind == "start" else "right")
    return f'<barline location="{location}"><ending number="{number}" type="{kind}"/></barline>'


def sound(**attributes: str) -> str:
    """A ``<sound>`` inside a direction, e.g. ``sound(dacapo="yes")`` or ``sound(tempo="60")``."""
    text = " ".join(f'{key}="{value}"' for key, value in attributes.items())
    return f"<direction><direction-type><words>mark</words></direction-type><sound {text}/></direction>"


def write_musicxml(path: Path, parts: dict[str, list[str]] | list[tuple[str, list[str]]], *, tempo_qpm: float = 120.0, beats: int = 4) -> Path:
    """Write a score: ``parts`` maps a part name to the inner XML of each of its bars
    (as a dict, or as (name, bars) pairs when two parts share a name).

    The first bar of each part gets the divisions (one per quarter note), the time
    signature ``beats``/4 and the tempo.
    """
    pairs = list(parts.items()) if isinstance(parts, dict) else list(parts)
    part_list = "".join(
        f'<score-part id="P{index}"><part-name>{escape(name)}</part-name></score-part>' for index, (name, _) in enumerate(pairs, 1)
    )
    bodies = []
    for index, (_, bars) in enumerate(pairs, 1):
        header = (f"<attributes><divisions>1</divisions><time><beats>{beats}</beats><beat-type>4</beat-type></time></attributes>"
                  f'<direction><sound tempo="{tempo_qpm:g}"/></direction>')
        measures = "".join(f'<measure number="{number}">{header if number == 1 else ""}{bar}</measure>' for number, bar in enumerate(bars, 1))
        bodies.append(f'<part id="P{index}">{measures}</part>')
    text = f'<?xml version="1.0" encoding="UTF-8"?>\n<score-partwise version="3.1"><part-list>{part_list}</part-list>{"".join(bodies)}</score-partwise>\n'
    path.write_text(text, encoding="utf-8")
    return path
