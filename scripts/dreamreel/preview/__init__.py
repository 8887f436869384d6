"""Pictures of a piece: a contact sheet, feature and latent plots, the 8D pan, the notes and sections.

- :mod:`.moments`: the moments worth showing (strongest onsets, section changes) and
  frame grabs.
- :mod:`.figures`: the contact sheet and the feature plots.
- :mod:`.pan_plot`: each part's 8D path around the head beside its level in each ear.
- :mod:`.notes_plot`: each part's note signals (envelope, note-ons, pitch range) with
  barlines and sections.
- :mod:`.conduct_plot`: each conducted part's note signal beside the motion it drives.

Make rules: ``out/<piece>-preview.png`` and ``out/<piece>-features.png`` (preview.py),
``out/<piece>-pan.png`` (preview_pan.py), ``out/<piece>-notes.png`` (preview_notes.py),
``out/<piece>-conduct.png`` (preview_conduct.py). The last stage: it may import every earlier one.
"""
