"""MuseScore files (.mscz/.mscx), read by asking the MuseScore CLI to export MusicXML.

MuseScore's CLI aborts without a display unless Qt is told to draw offscreen, and it
writes settings under $HOME, so it runs with ``QT_QPA_PLATFORM=offscreen`` and a
throw-away home folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from dreamreel.core import processes
from dreamreel.core.errors import DreamreelError
from dreamreel.score.model import Score

EXECUTABLES = ("mscore3", "mscore", "musescore", "mscore4portable", "MuseScore4")
INSTALL_HINT = "install MuseScore (Debian: sudo apt-get install musescore3) or export the score from MuseScore as MusicXML (File > Export)"


def find_musescore() -> str | None:
    """The first MuseScore executable on PATH, or None."""
    for name in EXECUTABLES:
        found = shutil.which(name)
        if found:
            return found
    return None


def read_with_musescore(path: str | Path, *, executable: str | None = None, timeout_s: float = 600.0) -> Score:
    """Export ``path`` to MusicXML with MuseScore and read that."""
    from dreamreel.score.musicxml import read_musicxml

    path = Path(path)
    executable = executable or find_musescore()
    if executable is None:
        raise DreamreelError(str(path), "MuseScore files need the MuseScore CLI, which is not installed", INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="dreamreel-mscore-") as scratch:
        exported = Path(scratch) / "score.musicxml"
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=scratch, XDG_RUNTIME_DIR=scratch)
        try:
            result = processes.run(
                [executable, "-o", str(exported), str(path.resolve())],
                env=env, timeout=timeout_s,
            )
        except subprocess.TimeoutExpired:
            raise DreamreelError(str(path), f"MuseScore did not finish the export within {timeout_s:.0f} s", INSTALL_HINT) from None
        if result.returncode != 0 or not exported.is_file():
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise DreamreelError(str(path), f"MuseScore could not export it (exit {result.returncode}: {last[0]})", "open it in MuseScore and export MusicXML by hand")
        return read_musicxml(exported, name=str(path))
