"""The audio stage: stems, per-part effects, 8D panning, the dry/wet buses and the master.

- :mod:`.sections`: the ``stems``, ``part_defaults``/``parts.<part>`` and ``mix`` params.
- :mod:`.soundfont`: the General MIDI soundfont, found or given.
- :mod:`.stems`: one FluidSynth stem per part, all the same length.
- :mod:`.effects`: gain, SoX tremolo and reverb as small effect objects in a chain.
- :mod:`.automation`, :mod:`.automation_file`, :mod:`.effects_json`: 8D pan keyframes in
  bars and beats, from params, from a file, or from the old tool's effects.json.
- :mod:`.binaural`, :mod:`.sofa`, :mod:`.panning_slot`: rendering a part around the head.
- :mod:`.mixing`, :mod:`.loudness`: summing the buses, BS.1770 loudness, true-peak limiter.
- :mod:`.song_stems`: a song's own stems (STEMS=), checked against the song and read to
  its length; analyze.py reads them for ``build/<piece>/gan/features.npz``'s parts.

Make rules: ``build/<piece>/stems/<part>.wav`` (render_stems.py),
``build/<piece>/fx/<part>.{dry,wet}.wav`` (process_stem.py) and
``build/<piece>/mix/master.wav`` (mix.py, or import_song.py for a SONG). Imports ``core``
and ``score`` only.
"""
