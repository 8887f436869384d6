"""The video stage: the square GAN video composed to 1080p in one pass, then muxed.

- :mod:`.sections`: the ``video`` (graph, encoder, title, fades) and ``mux`` params.
- :mod:`.graph`: filters/ templates filled from params and the probed input.
- :mod:`.compose`: the one ffmpeg pass and its single lossy encode.
- :mod:`.mux`: the picture with the master mix, stream copy, exact sync, metadata.

Make rules: ``build/<piece>/video/picture.mkv`` (compose.py) and
``out/<piece>.{mp4,mkv}`` (mux.py). Imports ``core`` and the earlier stages only.
"""
