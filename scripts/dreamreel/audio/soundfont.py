"""The General MIDI soundfont the stems are rendered with: found, or named by the user.

Kept apart from :mod:`dreamreel.audio.stems` because the params split resolves
``stems.soundfont`` (so that the file becomes a Make prerequisite) and should not import
the renderer to do it.
"""

from __future__ import annotations

from pathlib import Path

# Known places of General MIDI soundfonts, best first (Debian package in brackets).
SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # fluid-soundfont-gm, 148 MB, MIT
    "/usr/share/sounds/sf2/TimGM6mb.sf2",  # timgm6mb-soundfont, 6 MB, GPL-2
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
)



SOUNDFONT_FIX = "run make setup (installs timgm6mb-soundfont) or set stems.soundfont in params.yaml to a General MIDI .sf2 file"



def find_soundfont(setting: str) -> str | None:
    """Resolve ``stems.soundfont``: a path as given, or for ``auto`` the first installed one."""
    if setting != "auto":
        return setting
    for candidate in SOUNDFONT_CANDIDATES:
        if Path(candidate).is_file():
            return str(Path(candidate).resolve())
    return None
