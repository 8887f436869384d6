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
import unicodedata
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


@dataclass(frozen=True)
class Mark:
    """A mark in the score that may start a section, at ``tick`` in the played form.

    ``kind`` is ``rehearsal`` (a rehearsal mark, or a MIDI marker or cue; ``label`` is its
    text), ``double_bar`` (a double or final barline, or a repeat sign's thick-thin bar; the
    mark is at the start of the bar played after it) or ``key`` (a change of key signature;
    ``label`` names the new key, e.g. "D major"). Tempo and meter changes are not marks:
    they are the tempo and meter maps themselves.
    """

    tick: int
    kind: str
    label: str = ""


@dataclass
class Score:
    """A whole piece in ticks.

    ``bar_ticks`` lists the tick at which each bar starts, in order, and ends with the
    tick of the final barline. ``first_bar_number`` is the number of the first entry: 0
    when the piece opens with a pickup (anacrusis), else 1. A score with repeats is held
    as played (:mod:`dreamreel.score.repeats`): its notes, tempos, meters, bars and marks
    follow the music as it sounds, so a bar played twice is two bars, and a rehearsal mark
    inside a repeated passage is there on each pass. ``marks`` (:class:`Mark`) are sorted
    by tick; a score.json written before marks existed reads with none.
    """

    ticks_per_quarter: int
    parts: list[Part]
    tempos: list[TempoChange]
    meters: list[MeterChange]
    bar_ticks: list[int]
    first_bar_number: int = 1
    source: str = ""
    marks: list[Mark] = field(default_factory=list)

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
            marks=[Mark(**m) for m in data.get("marks", [])],
        )

    def part_names(self) -> list[str]:
        return [part.name for part in self.parts]

    def find_part_name(self, key: str) -> str | None:
        """The name of the part that ``key`` (from ``parts:`` in params) means, or None.

        A key may be the part's name ('гитара', 'flute-a-bec') or its label as printed
        in the score ('Гитара', 'Flûte à bec'); any spelling that slugifies to the name
        ('Flute a Bec') also finds it. A label two parts share ('Marimba' for 'marimba'
        and 'marimba-2') finds the first, through its name.
        """
        names = self.part_names()
        if key in names:
            return key
        wanted = unicodedata.normalize("NFC", key.strip())
        labelled = [part.name for part in self.parts if unicodedata.normalize("NFC", part.label.strip()) == wanted]
        if len(labelled) == 1:
            return labelled[0]
        slug = slugify(key)
        return slug if slug in names else None


def load_score_json(path: str | Path) -> Score:
    """Read ``build/score/score.json``."""
    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "score data not found", "build it with make (it is parsed from the score in scores/)")
    return Score.from_json(path.read_bytes())


# Latin letters that carry no accent to strip but have a usual spelling in ASCII.
LATIN_LETTERS_IN_ASCII = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ł": "l", "ı": "i"}


def slugify(label: str) -> str:
    """A part label as a name for files, Make targets and params.

    'Vibraphone 2' -> 'vibraphone-2', 'Flûte à bec' -> 'flute-a-bec', 'Гитара' -> 'гитара',
    '笛子' -> '笛子'. Latin letters lose their accents (the usual ASCII spelling); letters
    of other scripts are kept as they are, lowercased, rather than transliterated by a
    table that would be right for one language and wrong for the next (Cyrillic 'г' is
    'g' in Russian, 'h' in Ukrainian). Everything that is not a letter, a digit or a
    combining mark (Devanagari vowel signs are marks) becomes '-': no space, '$', '#',
    ':', '%' or '\\' reaches Make, and a non-ASCII letter's UTF-8 bytes are all above
    0x7f, so Make and the shell never read one as a special character.
    """
    kept: list[str] = []
    for char in unicodedata.normalize("NFKD", label.lower()):
        if unicodedata.combining(char) and kept and kept[-1].isascii():
            continue  # an accent on a Latin letter: 'û' -> 'u'
        kept.append(LATIN_LETTERS_IN_ASCII.get(char, char))
    text = unicodedata.normalize("NFC", "".join(kept))
    slug = "".join(char if char.isalnum() or unicodedata.category(char).startswith("M") else "-" for char in text)
    slug = "-".join(piece for piece in slug.split("-") if piece)
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
