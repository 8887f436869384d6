"""The General MIDI soundfont the stems are rendered with: found, or named by the user, and checked.

Kept apart from :mod:`dreamreel.audio.stems` because the params split resolves
``stems.soundfont`` (so that the file becomes a Make prerequisite) and should not import
the renderer to do it.
"""

from __future__ import annotations

from pathlib import Path

from dreamreel.core.errors import DreamreelError

# Known places of General MIDI soundfonts, best first (Debian package in brackets).
SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # fluid-soundfont-gm, 148 MB, MIT
    "/usr/share/sounds/sf2/TimGM6mb.sf2",  # timgm6mb-soundfont, 6 MB, GPL-2
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
)


SOUNDFONT_FIX = "run make setup (installs timgm6mb-soundfont) or set stems.soundfont in params.yaml to a General MIDI .sf2 file"
RIFF_HEADER_BYTES = 12  # b"RIFF", the chunk size (little-endian uint32), the form type
SOUNDFONT_FORM = b"sfbk"  # SoundFont 2 (and SF3, its compressed form, which FluidSynth also reads)


def find_soundfont(setting: str) -> str | None:
    """Resolve ``stems.soundfont``: a path as given, or for ``auto`` the first installed one."""
    if setting != "auto":
        return setting
    for candidate in SOUNDFONT_CANDIDATES:
        if Path(candidate).is_file():
            return str(Path(candidate).resolve())
    return None


def missing_soundfont_error(path: str | Path) -> DreamreelError:
    """The error for a ``stems.soundfont`` that does not exist, in the same words wherever it is found missing."""
    return DreamreelError(f"stems.soundfont ({path})", "soundfont not found", SOUNDFONT_FIX)


def check_soundfont(path: str | Path, *, section: str = "stems") -> Path:
    """``path`` if it is a readable SoundFont file, else a :class:`DreamreelError` naming ``stems.soundfont``.

    FluidSynth does not stop on a file that is not a soundfont: it warns, falls back to
    its own default soundfont (or to silence) and exits 0, so stems would be rendered
    with instruments nobody chose. The RIFF header is read here instead: form type
    ``sfbk``, and a chunk size that fits in the file (a cut-off download fails here, not
    halfway through a render).
    """
    path = Path(path)
    where = f"{section}.soundfont ({path})"
    if path.is_dir():
        raise DreamreelError(where, "is a folder, not a soundfont file", "name the .sf2 file itself")
    if not path.is_file():
        raise missing_soundfont_error(path)
    try:
        with path.open("rb") as handle:
            header = handle.read(RIFF_HEADER_BYTES)
        size_bytes = path.stat().st_size
    except OSError as error:
        raise DreamreelError(where, f"the soundfont cannot be read ({error.strerror})", "make it readable (chmod a+r) or name another .sf2 file") from None
    if len(header) < RIFF_HEADER_BYTES or header[:4] != b"RIFF":
        kind = "an empty file" if not header else f"a file starting with {header[:8]!r}"
        raise DreamreelError(where, f"not a SoundFont 2 file ({kind}, not a RIFF 'sfbk' header)", SOUNDFONT_FIX)
    if header[8:12] != SOUNDFONT_FORM:
        raise DreamreelError(where, f"not a SoundFont 2 file (a RIFF file of type {header[8:12]!r}, not 'sfbk')", SOUNDFONT_FIX)
    promised_bytes = int.from_bytes(header[4:8], "little") + 8
    if promised_bytes > size_bytes:
        raise DreamreelError(where, f"the soundfont is cut off ({size_bytes} bytes of the {promised_bytes} its header promises)", "download or copy the .sf2 file again")
    return path
