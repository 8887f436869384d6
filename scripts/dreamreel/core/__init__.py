"""What every stage shares: errors, atomic writes, the params machinery, audio and ffmpeg I/O.

- :mod:`.errors`: the one user-facing error type and the CLI wrapper that prints it as one
  line with exit status 2.
- :mod:`.atomic`: temporary-sibling-then-rename writes, move-if-change, and the sweep of
  temporaries left by killed runs.
- :mod:`.processes`: starting external tools tied to the stage's life, and telling an
  interrupt from a failure.
- :mod:`.params`: typed fields and sections, validation, canonical JSON.
- :mod:`.makefile`: values and rules written into the makefile fragments.
- :mod:`.timing`: exact frame rates and frame counts.
- :mod:`.npz`: safe reading and atomic writing of ``.npz`` arrays.
- :mod:`.audio_io`: reading and writing audio (float32, channels first), resampling.
- :mod:`.ffmpeg_tools`: finding and running ffmpeg and ffprobe, probing media.

Used by every rule of the Makefile. Imports nothing from the stage packages.
"""
