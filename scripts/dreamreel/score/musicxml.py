"""MusicXML (partwise ``.musicxml``/``.xml``, compressed ``.mxl``) into a :class:`~dreamreel.score.Score`.

What is read: parts with their MIDI program, notes (chords, ties, voices through
backup/forward, grace notes skipped), transposing instruments, dynamics as velocity,
tempo marks (``<sound tempo>``, else ``<metronome>``) anywhere inside a bar, time
signatures, and pickup bars. Section marks (:class:`~dreamreel.score.model.Mark`): rehearsal
marks, double and final barlines (``<bar-style>`` light-light, light-heavy, heavy-light,
heavy-heavy) and key changes (``<key>``). Durations are kept exact: the tick resolution is the least
common multiple of every ``<divisions>`` in the file (and 480).

Repeats are played out, as MuseScore plays them (rules in :mod:`dreamreel.score.repeats`):
repeat barlines with ``times``, voltas (first/second endings), the jumps of ``<sound>``
(``dacapo``, ``dalsegno``/``segno``, ``tocoda``/``coda``, ``fine``) and bar-repeat signs
(``measure-repeat``). The :class:`~dreamreel.score.Score` is the played form: its notes,
tempo map, meters and bars follow the music as it sounds, and a bar played twice is two
bars, and a mark in a repeated passage is there on each pass. **Bar numbers in params count the played bars**, on from the first as MuseScore's
playback counts them (a pickup stays bar 0): with bars 2-3 repeated, played bar 4 is
written bar 2 the second time. A bar played again keeps the tempo and meter written
where it stands. What is not played out is said in one notice line each: jump words with
no ``<sound>`` mark (``D.C. al Fine`` as bare text), beat-repeat signs, ``<sound
time-only>`` (applied on every pass), a jump with no target, and written bars that nothing
leads to; a notice also gives the played order.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from dreamreel.core.errors import DreamreelError, notice
from dreamreel.score.model import Mark, MeterChange, Note, Part, Score, TempoChange, unique_names
from dreamreel.score.repeats import BarMarks, describe_order, play_order

STEP_SEMITONES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
DEFAULT_TEMPO_QPM = 120.0  # MusicXML's default when no tempo is marked
DEFAULT_VELOCITY = 80
FORTE_VELOCITY = 90  # MusicXML: dynamics="100" means forte, MIDI velocity 90
BEAT_UNIT_QUARTERS = {"whole": 4.0, "half": 2.0, "quarter": 1.0, "eighth": 0.5, "16th": 0.25, "32nd": 0.125}
# Barline styles drawn with two strokes: a double bar, a final bar, a repeat sign's bar.
DOUBLE_BAR_STYLES = {"light-light", "light-heavy", "heavy-light", "heavy-heavy"}
# Key names by the number of sharps (+) or flats (-), from 7 flats to 7 sharps.
MAJOR_KEYS = ("Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#")
MINOR_KEYS = ("Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#")
# Jump instructions written as text; without a <sound> playback mark beside them they are
# not played, and we say so.
JUMP_WORDS = re.compile(r"\b(d\.\s*c\.|d\.\s*s\.|da\s+capo|dal\s+segno|to\s+coda|fine)(?!\w)", re.IGNORECASE)


def _load_root(path: Path, where: str) -> ET.Element:
    try:
        if path.suffix.lower() == ".mxl":
            with zipfile.ZipFile(path) as archive:
                inner = _mxl_rootfile(archive)
                data = archive.read(inner)
        else:
            data = path.read_bytes()
        return ET.fromstring(data)
    except (ET.ParseError, zipfile.BadZipFile, KeyError) as error:
        raise DreamreelError(where, f"not a readable MusicXML file ({error})", "export the score again as MusicXML") from None


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


def read_musicxml(path: str | Path, *, name: str | None = None) -> Score:
    """Read a partwise MusicXML score, its repeats and jumps played out (see the module docstring).

    ``name`` is the file that messages name, when ``path`` is an export of it (MuseScore's
    MusicXML of the user's .mscz, in a temporary folder).
    """
    path = Path(path)
    where = name or str(path)
    root = _load_root(path, where)
    if root.tag == "score-timewise":
        raise DreamreelError(where, "timewise MusicXML is not supported", "export as partwise MusicXML (the usual kind)")
    if root.tag != "score-partwise":
        raise DreamreelError(where, f"not a MusicXML score (root element <{root.tag}>)", "export the score as MusicXML")

    divisions = {int(_number(d.text, 1)) for d in root.iter("divisions") if _number(d.text, 0) > 0}
    ticks_per_quarter = math.lcm(480, *divisions) if divisions else 480
    infos = _part_list(root)
    parts_xml = root.findall("part")
    if not parts_xml:
        raise DreamreelError(where, "the score has no parts", "add at least one instrument part and export again")

    measure_lengths: list[int] = []
    measure_nominal: list[int] = []
    first_measure_implicit = False
    tempo_marks: dict[tuple[int, int], float] = {}
    meter_marks: dict[int, tuple[int, int]] = {}
    key_marks: dict[int, str] = {}  # written bar -> the key written there, as words
    rehearsal_marks: dict[int, str] = {}  # written bar -> the text of its (first) rehearsal mark
    double_before: set[int] = set()  # written bars that open with a double barline
    double_after: set[int] = set()  # written bars that close with one
    marks: list[BarMarks] = []  # per written bar, from every part
    jump_words: dict[int, str] = {}  # written bar -> text such as 'D.C. al Fine' found there
    unplayed: dict[str, set[str]] = {}  # what is written but not played out -> the written bars
    placed: list[list[tuple[int, int, int, int, int]]] = []  # per part: (measure, offset, length, pitch, velocity)

    for part_index, part_xml in enumerate(parts_xml):
        info = infos.get(part_xml.get("id", ""), _PartInfo(part_xml.get("id", f"part {part_index + 1}")))
        factor = ticks_per_quarter
        meter = (4, 4)
        transpose = 0
        velocity = DEFAULT_VELOCITY
        notes: list[tuple[int, int, int, int, int]] = []
        tied: dict[int, int] = {}  # pitch -> index in notes of the note a tie continues
        bar_repeat_span = 0  # inside a bar-repeat sign (measure-repeat): bars it repeats
        copies: list[tuple[int, int]] = []  # (bar, the earlier bar it plays again)
        for measure_index, measure in enumerate(part_xml.findall("measure")):
            if measure_index == 0 and part_index == 0:
                first_measure_implicit = measure.get("implicit") == "yes" or measure.get("number") == "0"
            while len(marks) <= measure_index:
                marks.append(BarMarks(number=str(len(marks) + 1)))
            if part_index == 0:
                marks[measure_index].number = measure.get("number") or marks[measure_index].number
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
                    key = element.find("key")
                    if key is not None and key.findtext("fifths") is not None and part_index == 0:
                        key_marks[measure_index] = _key_name(key)
                    chromatic = element.findtext("transpose/chromatic")
                    if chromatic is not None:
                        transpose = int(_number(chromatic)) + 12 * int(_number(element.findtext("transpose/octave-change")))
                    for style in element.iter("measure-repeat"):
                        bar_repeat_span = max(1, int(_number(style.text, 1))) if style.get("type") == "start" else 0
                    if element.find("measure-style/beat-repeat") is not None:
                        unplayed.setdefault("beat-repeat signs (played as the rests written under them)", set()).add(marks[measure_index].number)
                elif tag == "barline":
                    _read_barline(element, marks, measure_index)
                    if (element.findtext("bar-style") or "").strip() in DOUBLE_BAR_STYLES:
                        (double_after if element.get("location", "right") == "right" else double_before).add(measure_index)
                elif tag in ("direction", "sound"):
                    offset = int(_number(element.findtext("offset"))) * factor if tag == "direction" else 0
                    qpm = _tempo_qpm(element)
                    if qpm:
                        tempo_marks[(measure_index, max(0, cursor + offset))] = qpm
                    sound = element if tag == "sound" else element.find("sound")
                    if sound is not None and sound.get("dynamics"):
                        velocity = _velocity(sound.get("dynamics"))
                    if sound is not None:
                        _read_jumps(sound, marks[measure_index])
                        if sound.get("time-only"):
                            unplayed.setdefault("<sound time-only> marks (applied on every pass, not only the passes named)", set()).add(marks[measure_index].number)
                    _read_signs(element, sound, marks[measure_index])
                    for rehearsal in element.iter("rehearsal"):
                        if (rehearsal.text or "").strip():
                            rehearsal_marks.setdefault(measure_index, rehearsal.text.strip())
                    words = " ".join(w.text or "" for w in element.iter("words")).strip()
                    if JUMP_WORDS.search(words):
                        jump_words.setdefault(measure_index, words)
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
            if bar_repeat_span and measure_index >= bar_repeat_span:
                copies.append((measure_index, measure_index - bar_repeat_span))
            nominal = meter[0] * ticks_per_quarter * 4 // meter[1]
            actual = longest if longest > 0 else nominal
            while len(measure_lengths) <= measure_index:
                measure_lengths.append(0)
                measure_nominal.append(nominal)
            measure_lengths[measure_index] = max(measure_lengths[measure_index], actual)
            if part_index == 0:
                measure_nominal[measure_index] = nominal
        # A bar-repeat sign plays the bars it points back to; in bar order, so a sign
        # repeating a bar that is itself a sign finds that bar's notes already there.
        for bar, source in copies:
            notes.extend((bar, o, l, p, v) for m, o, l, p, v in list(notes) if m == source)
        placed.append(notes)

    if not measure_lengths:
        raise DreamreelError(where, "the score has no bars", "write the music in bars and export again")
    marks = marks[:len(measure_lengths)]
    for measure_index, words in sorted(jump_words.items()):
        # Words alone do not play: an exporter that wrote no <sound> jump beside them (in
        # any part) left a jump we would have to guess, so we say we did not take it.
        if not marks[measure_index].has_jump():
            unplayed.setdefault(f"the words {words!r} without a playback jump (<sound dacapo/dalsegno/tocoda/fine>)", set()).add(marks[measure_index].number)
    order, order_notices = play_order(marks)
    for text in order_notices:
        notice(where, text)
    for what, numbers in sorted(unplayed.items()):
        notice(where, f"{what} in bar{'s' if len(numbers) > 1 else ''} {', '.join(sorted(numbers, key=_bar_sort_key))}: not played out")
    if order != list(range(len(measure_lengths))):
        notice(where, f"repeats played out: {len(measure_lengths)} written bars play as {len(order)} "
                          f"(written {describe_order(marks, order)}); bar numbers in params count the played bars")

    starts = [0]  # the tick of every played bar, and of the final barline
    for measure_index in order:
        starts.append(starts[-1] + measure_lengths[measure_index])
    has_pickup = order[0] == 0 and measure_lengths[0] < measure_nominal[0] and (first_measure_implicit or len(measure_lengths) > 1)
    tempo_list = _played_tempos(tempo_marks, order, starts, len(measure_lengths))
    meter_list = _played_meters(meter_marks, order, starts, len(measure_lengths))

    # A note tied over a barline goes on into the next written bar; where the music jumps
    # instead (a repeat sign, a first ending), it stops at the jump, so it never sounds over
    # the bar played next. The last bar's notes ring on past the final barline as written.
    played_until = [math.inf] * len(order)
    for k in range(len(order) - 2, -1, -1):
        played_until[k] = played_until[k + 1] if order[k + 1] == order[k] + 1 else starts[k + 1]

    labels = [infos.get(p.get("id", ""), _PartInfo(p.get("id", "part"))).label for p in parts_xml]
    parts = []
    for part_xml, label, name, notes in zip(parts_xml, labels, unique_names(labels), placed):
        info = infos.get(part_xml.get("id", ""), _PartInfo(label))
        by_measure: dict[int, list[tuple[int, int, int, int]]] = {}
        for m, o, l, p, v in notes:
            if l > 0:
                by_measure.setdefault(m, []).append((o, l, p, v))
        absolute = []
        for k, (start, measure_index) in enumerate(zip(starts, order)):
            for o, l, p, v in by_measure.get(measure_index, ()):
                end = min(start + o + l, played_until[k])
                if end > start + o:
                    absolute.append(Note(start + o, int(end), p, v))
        absolute.sort(key=lambda n: (n.start_tick, n.pitch))
        parts.append(Part(name, label, info.program, info.is_drum, absolute))
    section_marks = _played_marks(order, starts, rehearsal_marks, double_before, double_after, key_marks)
    return Score(ticks_per_quarter, parts, tempo_list, meter_list, starts, first_bar_number=0 if has_pickup else 1, source=str(path),
                 marks=section_marks)


def _key_name(key: ET.Element) -> str:
    """A ``<key>``'s fifths and mode in words: 'D major', 'F# minor'."""
    fifths = max(-7, min(7, int(_number(key.findtext("fifths")))))
    minor = (key.findtext("mode") or "").strip() == "minor"
    return f"{(MINOR_KEYS if minor else MAJOR_KEYS)[fifths + 7]} {'minor' if minor else 'major'}"


def _played_marks(order: list[int], starts: list[int], rehearsal: dict[int, str], double_before: set[int], double_after: set[int],
                  keys: dict[int, str]) -> list[Mark]:
    """The section marks of the played form, at the start of the played bars they open.

    A written bar played twice brings its marks twice. A double barline at the end of a
    bar marks the bar played next (after a repeat sign, the bar the repeat goes back to),
    and none after the final barline. A key mark is where the key played changes, so a
    repeat back across a key change marks the return to the old key too.
    """
    written_key: list[str] = []
    current = ""
    for measure_index in range(max(order) + 1):
        current = keys.get(measure_index, current)
        written_key.append(current)
    marks: list[Mark] = []
    for k, measure_index in enumerate(order):
        start = starts[k]
        if measure_index in rehearsal:
            marks.append(Mark(start, "rehearsal", rehearsal[measure_index]))
        if measure_index in double_before or (k > 0 and order[k - 1] in double_after):
            marks.append(Mark(start, "double_bar"))
        if k > 0 and written_key[measure_index] != written_key[order[k - 1]]:
            marks.append(Mark(start, "key", written_key[measure_index]))
    return marks


def _played_tempos(marks: dict[tuple[int, int], float], order: list[int], starts: list[int], bar_count: int) -> list[TempoChange]:
    """The tempo map of the played form.

    A bar played again keeps the tempo it has where it is written (MuseScore's rule): a
    repeat back to the opening after a 'più mosso' returns to the opening tempo.
    """
    at_bar_start: list[float] = []  # the tempo in force where each written bar starts
    current = DEFAULT_TEMPO_QPM
    inside: dict[int, list[tuple[int, float]]] = {}
    for (measure_index, offset), qpm in sorted(marks.items()):
        inside.setdefault(measure_index, []).append((offset, qpm))
    for measure_index in range(bar_count):
        at_bar_start.append(current)
        for _, qpm in inside.get(measure_index, ()):
            current = qpm
    tempos: dict[int, int] = {}
    playing = None
    for start, measure_index in zip(starts, order):
        if at_bar_start[measure_index] != playing:
            tempos[start] = round(60_000_000 / at_bar_start[measure_index])
        playing = at_bar_start[measure_index]
        for offset, qpm in inside.get(measure_index, ()):
            tempos[start + offset] = round(60_000_000 / qpm)
            playing = qpm
    return [TempoChange(tick, us) for tick, us in sorted(tempos.items())]


def _played_meters(marks: dict[int, tuple[int, int]], order: list[int], starts: list[int], bar_count: int) -> list[MeterChange]:
    """The meter map of the played form: every played bar in the meter it is written in."""
    written: list[tuple[int, int]] = []
    current = (4, 4)  # MusicXML's meter when none is written
    for measure_index in range(bar_count):
        current = marks.get(measure_index, current)
        written.append(current)
    meters: list[MeterChange] = []
    for start, measure_index in zip(starts, order):
        if measure_index in marks or not meters or (meters[-1].numerator, meters[-1].denominator) != written[measure_index]:
            meters.append(MeterChange(start, *written[measure_index]))
    return meters


def _read_barline(barline: ET.Element, marks: list[BarMarks], measure_index: int) -> None:
    """Repeat signs and volta brackets of one ``<barline>``, onto the bar they belong to."""
    right = barline.get("location", "right") == "right"
    repeat = barline.find("repeat")
    if repeat is not None and repeat.get("direction") == "backward":
        bar = marks[measure_index] if right or measure_index == 0 else marks[measure_index - 1]
        bar.backward_repeat = True
        if repeat.get("times") and _number(repeat.get("times")) >= 1:
            bar.times = max(bar.times or 0, int(_number(repeat.get("times"))))
        bar.after_jump = bar.after_jump or repeat.get("after-jump") == "yes"
    elif repeat is not None and repeat.get("direction") == "forward":
        if right:
            while len(marks) <= measure_index + 1:
                marks.append(BarMarks(number=str(len(marks) + 1)))
            marks[measure_index + 1].forward_repeat = True
        else:
            marks[measure_index].forward_repeat = True
    ending = barline.find("ending")
    if ending is not None:
        if ending.get("type") == "start":
            marks[measure_index].ending_start = (ending.get("number") or "").strip()
        elif ending.get("type") in ("stop", "discontinue"):
            (marks[measure_index] if right or measure_index == 0 else marks[measure_index - 1]).ending_stop = True
    for kind in ("segno", "coda"):
        if barline.get(kind):  # MusicXML 4 puts these playback marks on the barline too
            getattr(marks[measure_index], kind).add(barline.get(kind))
        elif barline.find(kind) is not None:
            getattr(marks[measure_index], kind).add("")


def _read_signs(element: ET.Element, sound: ET.Element | None, bar: BarMarks) -> None:
    """A segno or coda drawn as a sign (``<direction-type><segno/>``) without a playback name.

    It is held as a jump target named '', found when the jump's own name finds nothing.
    A coda sign beside a ``tocoda`` is the "To Coda" instruction, not the coda itself.
    """
    if element.tag != "direction":
        return
    named = sound.attrib if sound is not None else {}
    if element.find("direction-type/segno") is not None and not named.get("segno"):
        bar.segno.add("")
    if element.find("direction-type/coda") is not None and not (named.get("coda") or named.get("tocoda")):
        bar.coda.add("")


def _read_jumps(sound: ET.Element, bar: BarMarks) -> None:
    """Jump marks of one ``<sound>`` onto its bar."""
    for kind in ("segno", "coda", "tocoda", "dalsegno"):
        if sound.get(kind):
            getattr(bar, kind).add(sound.get(kind))
    if sound.get("dacapo") == "yes":
        bar.dacapo = True
    if sound.get("fine"):
        bar.fine = True
    if sound.get("forward-repeat") == "yes":
        bar.forward_repeat = True


def _bar_sort_key(number: str) -> tuple[int, str]:
    digits = "".join(char for char in number if char.isdigit())
    return (int(digits) if digits else 0, number)


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
