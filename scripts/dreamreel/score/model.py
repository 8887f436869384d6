"""The score model: parts with notes in ticks, the tempo map, the meter map and the bars.

Every score format (MIDI, MusicXML, MuseScore) is read into one :class:`Score`, kept in
integer ticks so that musical arithmetic is exact. Seconds come only from the tempo map
(:mod:`dreamreel.musical_time`). A :class:`Score` round-trips through JSON
(``build/score/score.json``), which is what every later stage reads.

Tempos are held as whole microseconds per quarter note, the unit a MIDI file stores:
the stems are rendered from MIDI files we write, so holding the same rounded value
keeps the tempo map and the rendered audio in exact agreement.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dreamreel.core.errors import DreamreelError


@dataclass(frozen=True)
class Note:
    """One note: MIDI pitch and velocity, from ``start_tick`` up to ``end_tick``."""

    start_tick: int
    end_tick: int
    pitch: int
    velocity: int


@dataclass
class Part:
    """One instrument: a slug ``name`` (used in file names and params), a display ``label``,
    a General MIDI ``program`` (0-127) and whether it is a drum kit (MIDI channel 10)."""

    name: str
    label: str
    program: int
    is_drum: bool = False
    notes: list[Note] = field(default_factory=list)


@dataclass(frozen=True)
class TempoChange:
    """From ``tick`` on, a quarter note lasts ``us_per_quarter`` microseconds."""

    tick: int
    us_per_quarter: int

    @property
    def bpm(self) -> float:
        return 60_000_000 / self.us_per_quarter


@dataclass(frozen=True)
class MeterChange:
    """From ``tick`` on (always a barline), bars are ``numerator``/``denominator``."""

    tick: int
    numerator: int
    denominator: int


@dataclass
class Score:
    """A whole piece in ticks.

    ``bar_ticks`` lists the tick at which each bar starts, in order, and ends with the
    tick of the final barline. ``first_bar_number`` is the number of the first entry: 0
    when the piece opens with a pickup (anacrusis), else 1.
    """

    ticks_per_quarter: int
    parts: list[Part]
    tempos: list[TempoChange]
    meters: list[MeterChange]
    bar_ticks: list[int]
    first_bar_number: int = 1
    source: str = ""

    @property
    def end_tick(self) -> int:
        return self.bar_ticks[-1]

    def to_json(self) -> bytes:
        data = asdict(self)
        for part in data["parts"]:
            part["notes"] = [[n["start_tick"], n["end_tick"], n["pitch"], n["velocity"]] for n in part["notes"]]
        return (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode()

    @classmethod
    def from_json(cls, text: bytes | str) -> "Score":
        data = json.loads(text)
        parts = [
            Part(p["name"], p["label"], p["program"], p["is_drum"], [Note(*n) for n in p["notes"]])
            for p in data["parts"]
        ]
        return cls(
            ticks_per_quarter=data["ticks_per_quarter"],
            parts=parts,
            tempos=[TempoChange(**t) for t in data["tempos"]],
            meters=[MeterChange(**m) for m in data["meters"]],
            bar_ticks=data["bar_ticks"],
            first_bar_number=data["first_bar_number"],
            source=data["source"],
        )

    def part_names(self) -> list[str]:
        return [part.name for part in self.parts]


def load_score_json(path: str | Path) -> Score:
    """Read ``build/score/score.json``."""
    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "score data not found", "build it with make (it is parsed from the score in scores/)")
    return Score.from_json(path.read_bytes())


def slugify(label: str) -> str:
    """A part label as a name for files and params: 'Vibraphone 2' -> 'vibraphone-2'."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return slug or "part"


def unique_names(labels: list[str]) -> list[str]:
    """Slugify labels, numbering repeats: ['Marimba', 'Marimba'] -> ['marimba', 'marimba-2']."""
    names: list[str] = []
    for label in labels:
        base = slugify(label)
        name, count = base, 1
        while name in names:
            count += 1
            name = f"{base}-{count}"
        names.append(name)
    return names


def bars_from_meters(meters: list[MeterChange], ticks_per_quarter: int, end_tick: int, pickup_ticks: int = 0) -> list[int]:
    """Barline ticks implied by a meter map, from 0 up to the first barline at or after ``end_tick``.

    With a pickup, the first bar is the short one from 0 to ``pickup_ticks``. A meter
    change always starts a new bar, even where the previous bar is not yet full.
    """
    bars = [0]
    tick = 0
    if pickup_ticks > 0:
        tick = pickup_ticks
        bars.append(tick)
    index = 0
    while tick < end_tick or len(bars) < 2:
        while index + 1 < len(meters) and meters[index + 1].tick <= tick:
            index += 1
        meter = meters[index]
        bar_end = tick + meter.numerator * ticks_per_quarter * 4 // meter.denominator
        if index + 1 < len(meters):
            bar_end = min(bar_end, meters[index + 1].tick)
        tick = bar_end
        bars.append(tick)
    return bars


def validate_score(score: Score, path: str) -> Score:
    """Reject scores a render cannot use: no parts, no notes, no bars."""
    if not score.parts:
        raise DreamreelError(path, "the score has no parts", "add at least one instrument part and export again")
    if not any(part.notes for part in score.parts):
        raise DreamreelError(path, "the score has no notes", "write some notes (rests alone make silence) and export again")
    empty = [part.name for part in score.parts if not part.notes]
    if empty:
        score.parts = [part for part in score.parts if part.notes]
    return score
