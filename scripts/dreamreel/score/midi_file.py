"""Standard MIDI files: read one into a :class:`~dreamreel.score.Score`, write one per part.

Reading keeps ticks as they are (no conversion to seconds), so tempo changes anywhere and
any time signature stay exact. Marker and cue point events become rehearsal marks, and
key signature changes key marks (:class:`~dreamreel.score.model.Mark`): where sections
start. Writing produces the per-part files that FluidSynth renders into stems: each holds
the whole tempo and meter map, so every stem has the same timeline.
"""

from __future__ import annotations

from collections import defaultdict, deque
from pathlib import Path

from dreamreel.core.errors import DreamreelError
from dreamreel.score.general_midi import DRUM_KIT_NAME, PROGRAM_NAMES
from dreamreel.score.model import Mark, MeterChange, Note, Part, Score, TempoChange, bars_from_meters, unique_names

DRUM_CHANNEL = 9
DEFAULT_US_PER_QUARTER = 500_000  # 120 BPM, the MIDI default
# The MIDI standard leaves the encoding of text events open; mido reads and writes Latin-1.
# We write UTF-8, as MuseScore and most current tools do, so any part label survives, and
# read a text as UTF-8 when its bytes are valid UTF-8, else as Latin-1.
TEXT_CHARSET = "utf-8"


def _decode_text(text: str) -> str:
    """A text event mido decoded as Latin-1, decoded again as UTF-8 when its bytes are UTF-8."""
    try:
        return text.encode("latin-1").decode(TEXT_CHARSET)
    except UnicodeError:
        return text


def read_midi(path: str | Path) -> Score:
    """Read a type 0 or type 1 MIDI file. Each (track, channel) pair with notes is a part."""
    import mido

    path = Path(path)
    try:
        midi = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
        raise DreamreelError(str(path), f"not a readable MIDI file ({error})", "export the score again as a standard MIDI file") from None
    if midi.type == 2:
        raise DreamreelError(str(path), "MIDI type 2 (independent sequences) is not supported", "export as MIDI type 1")
    if midi.ticks_per_beat <= 0:
        raise DreamreelError(str(path), "the file uses SMPTE time division", "export with metrical timing (ticks per quarter note)")

    tempos: dict[int, int] = {}
    meters: dict[int, tuple[int, int]] = {}
    notes: dict[tuple[int, int], list[Note]] = defaultdict(list)
    programs: dict[tuple[int, int], int] = {}
    names: dict[int, str] = {}
    rehearsals: dict[int, str] = {}
    keys_at: dict[int, str] = {}
    last_tick = 0
    for track_index, track in enumerate(midi.tracks):
        tick = 0
        sounding: dict[tuple[int, int], deque] = defaultdict(deque)
        for message in track:
            tick += message.time
            last_tick = max(last_tick, tick)
            kind = message.type
            if kind == "set_tempo":
                tempos[tick] = message.tempo
            elif kind == "time_signature":
                meters[tick] = (message.numerator, message.denominator)
            elif kind in ("marker", "cue_marker") and message.text.strip():
                # One mark a tick: a marker and a cue at the same place name one section.
                rehearsals.setdefault(tick, _decode_text(message.text).strip())
            elif kind == "key_signature":
                keys_at[tick] = message.key
            elif kind == "track_name" and message.name.strip():
                names.setdefault(track_index, _decode_text(message.name).strip())
            elif kind == "program_change":
                programs.setdefault((track_index, message.channel), message.program)
            elif kind == "note_on" and message.velocity > 0:
                sounding[(message.channel, message.note)].append((tick, message.velocity))
            elif kind in ("note_off", "note_on"):
                started = sounding[(message.channel, message.note)]
                if started:
                    start, velocity = started.popleft()
                    if tick > start:
                        notes[(track_index, message.channel)].append(Note(start, tick, message.note, velocity))

    keys = sorted(key for key, found in notes.items() if found)
    if not keys:
        raise DreamreelError(str(path), "the score has no notes", "write some notes (rests alone make silence) and export again")
    labels = []
    for track_index, channel in keys:
        if track_index in names:
            labels.append(names[track_index])
        elif channel == DRUM_CHANNEL:
            labels.append(DRUM_KIT_NAME)
        else:
            labels.append(PROGRAM_NAMES[programs.get((track_index, channel), 0)])
    parts = [
        Part(
            name=name,
            label=label,
            program=programs.get(key, 0),
            is_drum=key[1] == DRUM_CHANNEL,
            notes=sorted(notes[key], key=lambda n: (n.start_tick, n.pitch)),
        )
        for key, label, name in zip(keys, labels, unique_names(labels))
    ]
    tempo_list = [TempoChange(tick, value) for tick, value in sorted(tempos.items())]
    if not tempo_list or tempo_list[0].tick != 0:
        tempo_list.insert(0, TempoChange(0, DEFAULT_US_PER_QUARTER))
    meter_list = [MeterChange(tick, n, d) for tick, (n, d) in sorted(meters.items())]
    if not meter_list or meter_list[0].tick != 0:
        meter_list.insert(0, MeterChange(0, 4, 4))
    last_note = max((n.end_tick for part in parts for n in part.notes), default=last_tick)
    bars = bars_from_meters(meter_list, midi.ticks_per_beat, last_note)
    marks = [Mark(tick, "rehearsal", text) for tick, text in rehearsals.items()]
    previous_key = None
    for tick, key in sorted(keys_at.items()):
        if previous_key is not None and key != previous_key:
            marks.append(Mark(tick, "key", key_name(key)))
        previous_key = key
    marks.sort(key=lambda m: (m.tick, m.kind))
    return Score(midi.ticks_per_beat, parts, tempo_list, meter_list, bars, first_bar_number=1, source=str(path), marks=marks)


def key_name(key: str) -> str:
    """mido's key ('D', 'Bbm', 'F#m') as words: 'D major', 'Bb minor', 'F# minor'."""
    return f"{key[:-1]} minor" if key.endswith("m") else f"{key} major"


def write_part_midi(score: Score, part: Part, path: str | Path, *, tail_ticks: int = 0) -> None:
    """Write ``part`` alone, with the score's whole tempo and meter map, as a type 1 file.

    The end-of-track event is placed ``tail_ticks`` after the final barline, so a renderer
    that stops at the end of the file lets the last notes ring out.
    """
    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=score.ticks_per_quarter, charset=TEXT_CHARSET)
    conductor = [(t.tick, 0, mido.MetaMessage("set_tempo", tempo=t.us_per_quarter, time=0)) for t in score.tempos]
    conductor += [
        (m.tick, 1, mido.MetaMessage("time_signature", numerator=m.numerator, denominator=m.denominator, time=0))
        for m in score.meters
    ]
    end_tick = score.end_tick + tail_ticks
    midi.tracks.append(_as_track(conductor, end_tick))

    channel = DRUM_CHANNEL if part.is_drum else 0
    events = [(0, 0, mido.MetaMessage("track_name", name=part.label, time=0))]
    if not part.is_drum:
        events.append((0, 1, mido.Message("program_change", channel=channel, program=part.program, time=0)))
    for note in part.notes:
        # Note-offs sort before note-ons at the same tick so repeated notes re-strike.
        events.append((note.end_tick, 2, mido.Message("note_off", channel=channel, note=note.pitch, velocity=0, time=0)))
        events.append((note.start_tick, 3, mido.Message("note_on", channel=channel, note=note.pitch, velocity=note.velocity, time=0)))
    midi.tracks.append(_as_track(events, end_tick))
    midi.save(str(path))


def _as_track(events: list[tuple[int, int, object]], end_tick: int):
    import mido

    track = mido.MidiTrack()
    previous = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - previous))
        previous = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - previous)))
    return track
