"""The params section ``song``: where a finished song's notes and parts come from.

A song (``SONG=`` or ``piece.song``) has no score. Its notes come from a MIDI file the
user gives (``song.midi`` or ``MIDI=``), placed in the song by ``midi_offset_s``, or from
transcribing the song (``song.transcribe``); its parts' own audio from a folder of stems
(``song.stems`` or ``STEMS=``). Declared apart from the code that uses them, so the
params split reads these declarations without importing that code.
"""

from __future__ import annotations

from dreamreel.core.params import Field, Section

TRANSCRIBERS = ("off", "basic-pitch")

SONG = Section(
    {
        "midi": Field(None, "str", "a MIDI file of the song's notes (.mid); MIDI= on the command line replaces it", nullable=True),
        "midi_offset_s": Field(0.0, "number", "where the MIDI's time 0 falls in the song, in seconds (negative: the MIDI starts before the song, e.g. a count-in bar)", minimum=-3600.0, maximum=3600.0),
        "midi_tolerance_s": Field(0.5, "number", "how far outside the song a MIDI note may start (before the song's start) or end (after the song's end) and still be taken", minimum=0.0, maximum=60.0),
        "midi_tail_s": Field(10.0, "number", "how long the song may go on after the MIDI's last note ends (a fade, a reverb tail) before the MIDI counts as too short for it", minimum=0.0, maximum=3600.0),
        "stems": Field(None, "str", "a folder of WAV files, one per part of the song (their file names name the parts); STEMS= on the command line replaces it", nullable=True),
        "stems_tolerance_s": Field(0.5, "number", "how much a stem's length may differ from the song's", minimum=0.0, maximum=60.0),
        "transcribe": Field("off", "str", "transcribe the song's notes when no MIDI is given: off, or basic-pitch (Spotify's model, run offline)", choices=TRANSCRIBERS),
        "onset_threshold": Field(0.5, "number", "transcription: how sure the model must be of a note's start (0-1); higher finds fewer notes", minimum=0.05, maximum=0.99),
        "frame_threshold": Field(0.3, "number", "transcription: how sure the model must be that a note still sounds (0-1); higher ends notes sooner", minimum=0.05, maximum=0.99),
        "min_note_s": Field(0.06, "number", "transcription: shortest note kept, in seconds", minimum=0.0, maximum=5.0),
    },
    help="a song's notes (a MIDI file, or transcription) and its parts' stems",
)
