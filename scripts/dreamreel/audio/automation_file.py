"""Read a pan automation file: dreamreel's own YAML/JSON format, or the old tool's effects.json.

Kept apart from :mod:`dreamreel.audio.automation` so that the automation model does not
depend on the importer of the old format (which builds on the model).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from dreamreel.audio import effects_json
from dreamreel.audio.automation import Automation, parse_automation
from dreamreel.core.errors import DreamreelError
from dreamreel.score.musical_time import MusicalClock


def load_automation_file(path, clock: MusicalClock, *, part: str | None = None) -> Automation:
    """Read an automation file: our YAML/JSON format, or an old tool's effects.json (detected;
    ``part`` picks one of its parts)."""
    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "automation file not found", "check the --automation path")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise DreamreelError(str(path), f"not valid YAML or JSON ({str(error).splitlines()[0]})", "fix the file's syntax") from None
    if effects_json.looks_like_effects_json(data):
        return effects_json.import_effects(data, clock, where=str(path), part=part)
    return parse_automation(data, clock, where=f"{path}: pan")
