"""The video stage: effects keyed to the music, the 1080p composition in one pass, the mux.

- :mod:`.sections`: the ``effects``, ``video`` (graph, encoder, title, fades) and ``mux`` params.
- :mod:`.keying`: each effect's value at every frame, from a feature or musical time.
- :mod:`.effects`: the geometry, filter and colour effects on a block of frames.
- :mod:`.effects_pass`: frames streamed from ffmpeg through the effects into a lossless file.
- :mod:`.graph`: filters/ templates filled from params and the probed input.
- :mod:`.compose`: the one ffmpeg pass and its single lossy encode.
- :mod:`.mux`: the picture with the master mix, stream copy, exact sync, metadata.

Make rules: ``build/<piece>/video/effects.mkv`` (effects.py, only when effects.chain lists
effects), ``build/<piece>/video/picture.mkv`` (compose.py) and ``out/<piece>.{mp4,mkv}``
(mux.py). Imports ``core`` and the earlier stages only.
"""
