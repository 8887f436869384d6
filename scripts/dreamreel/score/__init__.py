"""The score: parts, notes, tempo and meter maps, read from MIDI, MusicXML or MuseScore.

- :mod:`.model`: :class:`~.model.Score` in integer ticks, its JSON form and validation,
  and the marks where sections start (rehearsal marks, double bars, key changes).
- :mod:`.read`: picks the reader by file type; :mod:`.midi_file`, :mod:`.musicxml` and
  :mod:`.musescore` are the readers (and the per-part MIDI writer).
- :mod:`.repeats`: the order the written bars are played in (repeats, voltas, D.C./D.S.);
  a score is read in its played form.
- :mod:`.musical_time`: bars and beats to seconds through the tempo map (exactly, as
  fractions, for the frame a note falls on).
- :mod:`.general_midi`: General MIDI program names.
- A song's notes: :mod:`.song_notes` places a MIDI file the user gives in the song (an
  offset, checked against the song's length); :mod:`.transcribe` transcribes the song
  with basic-pitch's model through onnxruntime. :mod:`.sections` declares their params
  section, ``song``.

Make rules: ``build/<piece>/score/score.json`` (parse_score.py) and
``build/<piece>/score/parts.mk`` (part_params.py); for a song,
``build/<piece>/song/notes-score.json`` (song_notes.py). Later stages read ``score.json``
through :mod:`.model` and place things in musical time through :mod:`.musical_time`.
"""
