"""MusicXML (partwise ``.musicxml``/``.xml``, compressed ``.mxl``) into a :class:`~dreamreel.score.Score`.

What is read: parts with their MIDI program, notes (chords, ties, voices through
backup/forward, grace notes skipped), transposing instruments, dynamics as velocity,
tempo marks (``<sound tempo>``, else ``<metronome>``) anywhere inside a bar, time
signatures, and pickup bars. Durations are kept exact: the tick resolution is the least
common multiple of every ``<divisions>`` in the file (and 480).
What is not: repeats and jumps are played as written, once.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from dreamreel.core.errors import DreamreelError
from dreamreel.score.model import MeterChange, Note, Part, Score, TempoChange, unique_names

STEP_SEMITONES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
DEFAULT_TEMPO_QPM = 120.0  # MusicXML's default when no tempo is marked
DEFAULT_VELOCITY = 80
FORTE_VELOCITY = 90  # MusicXML: dynamics="100" means forte, MIDI velocity 90
BEAT_UNIT_QUARTERS = {"whole": 4.0, "half": 2.0, "quarter": 1.0, "eighth": 0.5, "16th": 0.25, "32nd": 0.125}


def _load_root(path: Path) -> ET.Element:
    try:
        if path.suffix.lower() == ".mxl":
            with zipfile.ZipFile(path) as archive:
                inner = _mxl_rootfile(archive)
                data = archive.read(inner)
        else:
            data = path.read_bytes()
        return ET.fromstring(data)
    except (ET.ParseError, zipfile.BadZipFile, KeyError) as error:
        raise DreamreelError(str(path), f"not a readable MusicXML file ({error})", "export the score again as MusicXML") from None


def _mxl_rootfile(archive: zipfile.ZipFile) -> str:
    names = archive.namelist()
    if "META-INF/container.xml" in names:
        container = ET.fromstring(archive.read("META-INF/container.xml"))
        for element in container.iter():
            if element.tag.endswith("rootfile") and element.get("full-path"):
                return element.get("full-path")
    candidates = [n for n in names if n.lower().endswith((".xml", ".musicxml")) and not n.startswith("META-INF/")]
    if not candidates:
        raise KeyError("no score inside the archive")
    return candidates[0]


@dataclass
class _PartInfo:
    label: str
    program: int = 0
    is_drum: bool = False
    unpitched: dict[str, int] = field(default_factory=dict)


def _part_list(root: ET.Element) -> dict[str, _PartInfo]:
    infos = {}
    for score_part in root.iter("score-part"):
        label = (score_part.findtext("part-name") or "").strip() or (score_part.findtext("score-instrument/instrument-name") or "").strip()
        info = _PartInfo(label or score_part.get("id", "part"))
        for instrument in score_part.iter("midi-instrument"):
            program = instrument.findtext("midi-program")
            if program and program.strip().isdigit():
                info.program = min(127, max(0, int(program) - 1))  # MusicXML counts programs from 1
            channel = instrument.findtext("midi-channel")
            if channel and channel.strip() == "10":
                info.is_drum = True
            unpitched = instrument.findtext("midi-unpitched")
            if unpitched and unpitched.strip().isdigit():
                info.unpitched[instrument.get("id", "")] = int(unpitched) - 1
        infos[score_part.get("id", "")] = info
    return infos


def _number(text: str | None, default: float = 0.0) -> float:
    try:
        return float(text) if text is not None else default
    except ValueError:
        return default


def _tempo_qpm(element: ET.Element) -> float | None:
    """The tempo a ``<direction>`` or ``<sound>`` sets, in quarter notes per minute."""
    sound = element if element.tag == "sound" else element.find("sound")
    if sound is not None and sound.get("tempo"):
        value = _number(sound.get("tempo"), 0.0)
        return value if value > 0 else None
    metronome = element.find("direction-type/metronome")
    if metronome is not None:
        unit = BEAT_UNIT_QUARTERS.get((metronome.findtext("beat-unit") or "").strip())
        per_minute = _number(metronome.findtext("per-minute"), 0.0)
        if unit and per_minute > 0:
            if metronome.find("beat-unit-dot") is not None:
                unit *= 1.5
            return per_minute * unit
    return None


def read_musicxml(path: str | Path) -> Score:
    """Read a partwise MusicXML score."""
    path = Path(path)
    root = _load_root(path)
    if root.tag == "score-timewise":
        raise DreamreelError(str(path), "timewise MusicXML is not supported", "export as partwise MusicXML (the usual kind)")
    if root.tag != "score-partwise":
        raise DreamreelError(str(path), f"not a MusicXML score (root element <{root.tag}>)", "export the score as MusicXML")

    divisions = {int(_number(d.text, 1)) for d in root.iter("divisions") if _number(d.text, 0) > 0}
    ticks_per_quarter = math.lcm(480, *divisions) if divisions else 480
    infos = _part_list(root)
    parts_xml = root.findall("part")
    if not parts_xml:
        raise DreamreelError(str(path), "the score has no parts", "add at least one instrument part and export again")

    measure_lengths: list[int] = []
    measure_nominal: list[int] = []
    first_measure_implicit = False
    tempo_marks: dict[tuple[int, int], float] = {}
    meter_marks: dict[int, tuple[int, int]] = {}
    placed: list[list[tuple[int, int, int, int, int]]] = []  # per part: (measure, offset, length, pitch, velocity)

    for part_index, part_xml in enumerate(parts_xml):
        info = infos.get(part_xml.get("id", ""), _PartInfo(part_xml.get("id", f"part {part_index + 1}")))
        factor = ticks_per_quarter
        meter = (4, 4)
        transpose = 0
        velocity = DEFAULT_VELOCITY
        notes: list[tuple[int, int, int, int, int]] = []
        tied: dict[int, int] = {}  # pitch -> index in notes of the note a tie continues
        for measure_index, measure in enumerate(part_xml.findall("measure")):
            if measure_index == 0 and part_index == 0:
                first_measure_implicit = measure.get("implicit") == "yes" or measure.get("number") == "0"
            cursor = 0
            longest = 0
            chord_start = 0
            for element in measure:
                tag = element.tag
                if tag == "attributes":
                    value = element.findtext("divisions")
                    if value and _number(value) > 0:
                        factor = ticks_per_quarter // int(_number(value))
                    time = element.find("time")
                    if time is not None and time.findtext("beats"):
                        beats = sum(int(_number(b)) for b in time.findtext("beats").split("+"))
                        meter = (beats, int(_number(time.findtext("beat-type"), 4)))
                        if part_index == 0:
                            meter_marks[measure_index] = meter
                    chromatic = element.findtext("transpose/chromatic")
                    if chromatic is not None:
                        transpose = int(_number(chromatic)) + 12 * int(_number(element.findtext("transpose/octave-change")))
                elif tag in ("direction", "sound"):
                    offset = int(_number(element.findtext("offset"))) * factor if tag == "direction" else 0
                    qpm = _tempo_qpm(element)
                    if qpm:
                        tempo_marks[(measure_index, max(0, cursor + offset))] = qpm
                    sound = element if tag == "sound" else element.find("sound")
                    if sound is not None and sound.get("dynamics"):
                        velocity = _velocity(sound.get("dynamics"))
                elif tag == "backup":
                    cursor -= int(_number(element.findtext("duration"))) * factor
                elif tag == "forward":
                    cursor += int(_number(element.findtext("duration"))) * factor
                    longest = max(longest, cursor)
                elif tag == "note":
                    if element.find("grace") is not None or element.find("cue") is not None:
                        continue
                    length = int(_number(element.findtext("duration"))) * factor
                    if element.find("chord") is not None:
                        start = chord_start
                    else:
                        start = chord_start = cursor
                        cursor += length
                        longest = max(longest, cursor)
                    pitch = _pitch(element, info)
                    if pitch is None:
                        continue
                    pitch = min(127, max(0, pitch + transpose))
                    note_velocity = _velocity(element.get("dynamics")) if element.get("dynamics") else velocity
                    ties = {t.get("type") for t in element.findall("tie")} | {t.get("type") for t in element.findall("notations/tied")}
                    previous = tied.pop(pitch, None)
                    if "stop" in ties and previous is not None:
                        m, o, l, p, v = notes[previous]
                        notes[previous] = (m, o, l + length, p, v)  # offset math stays in the first note's bar
                        if "start" in ties:
                            tied[pitch] = previous
                        continue
                    notes.append((measure_index, start, length, pitch, note_velocity))
                    if "start" in ties:
                        tied[pitch] = len(notes) - 1
            nominal = meter[0] * ticks_per_quarter * 4 // meter[1]
            actual = longest if longest > 0 else nominal
            while len(measure_lengths) <= measure_index:
                measure_lengths.append(0)
                measure_nominal.append(nominal)
            measure_lengths[measure_index] = max(measure_lengths[measure_index], actual)
            if part_index == 0:
                measure_nominal[measure_index] = nominal
        placed.append(notes)

    if not measure_lengths:
        raise DreamreelError(str(path), "the score has no bars", "write the music in bars and export again")
    starts = [0]
    for length in measure_lengths:
        starts.append(starts[-1] + length)

    has_pickup = measure_lengths[0] < measure_nominal[0] and (first_measure_implicit or len(measure_lengths) > 1)
    tempos: dict[int, int] = {}
    for (measure_index, offset), qpm in sorted(tempo_marks.items()):
        tempos[starts[measure_index] + offset] = round(60_000_000 / qpm)
    tempo_list = [TempoChange(tick, us) for tick, us in sorted(tempos.items())]
    if not tempo_list or tempo_list[0].tick != 0:
        tempo_list.insert(0, TempoChange(0, round(60_000_000 / DEFAULT_TEMPO_QPM)))
    meter_list = [MeterChange(starts[index], n, d) for index, (n, d) in sorted(meter_marks.items())]
    if not meter_list or meter_list[0].tick != 0:
        meter_list.insert(0, MeterChange(0, 4, 4))

    labels = [infos.get(p.get("id", ""), _PartInfo(p.get("id", "part"))).label for p in parts_xml]
    parts = []
    for part_xml, label, name, notes in zip(parts_xml, labels, unique_names(labels), placed):
        info = infos.get(part_xml.get("id", ""), _PartInfo(label))
        absolute = sorted(
            (Note(starts[m] + o, starts[m] + o + l, p, v) for m, o, l, p, v in notes if l > 0),
            key=lambda n: (n.start_tick, n.pitch),
        )
        parts.append(Part(name, label, info.program, info.is_drum, absolute))
    return Score(ticks_per_quarter, parts, tempo_list, meter_list, starts, first_bar_number=0 if has_pickup else 1, source=str(path))


def _velocity(dynamics: str | None) -> int:
    return int(min(127, max(1, round(_number(dynamics, 100.0) / 100.0 * FORTE_VELOCITY))))


def _pitch(note: ET.Element, info: _PartInfo) -> int | None:
    """MIDI pitch of a ``<note>``; None for a rest."""
    if note.find("rest") is not None:
        return None
    pitch = note.find("pitch")
    if pitch is not None:
        step = STEP_SEMITONES.get((pitch.findtext("step") or "C").strip().upper(), 0)
        alter = round(_number(pitch.findtext("alter")))
        octave = int(_number(pitch.findtext("octave"), 4))
        return 12 * (octave + 1) + step + alter
    unpitched = note.find("unpitched")
    if unpitched is not None:
        instrument = note.find("instrument")
        if instrument is not None and instrument.get("id") in info.unpitched:
            return info.unpitched[instrument.get("id")]
        step = STEP_SEMITONES.get((unpitched.findtext("display-step") or "C").strip().upper(), 0)
        return 12 * (int(_number(unpitched.findtext("display-octave"), 4)) + 1) + step
    return None
