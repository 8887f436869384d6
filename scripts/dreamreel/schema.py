"""The sections of params.yaml: what each stage reads, with types, units, ranges and defaults.

Each top-level section becomes ``build/params/<section>.json``, the one parameter file of
the stage(s) that read it. Each stage declares its sections in its own ``sections``
module (:mod:`dreamreel.score.sections`, :mod:`dreamreel.audio.sections`, :mod:`dreamreel.gan.sections`,
:mod:`dreamreel.video.sections`); they are gathered into :data:`SCHEMA` here, beside the
piece itself. This module belongs to no stage: it is the params split's view of the whole
pipeline, so stage packages never import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from dreamreel.audio.sections import MIX, PART, STEMS
from dreamreel.core.errors import DreamreelError
from dreamreel.core.params import Field, Section, _suggest, load_yaml, validate_section
from dreamreel.gan.sections import FEATURES, GAN, LATENTS, NOTES, STYLEGAN, validate_conduct
from dreamreel.score.sections import SONG
from dreamreel.video.sections import EFFECTS, MUX, VIDEO

PIECE = Section(
    {
        "name": Field("demo", "str", "name of the piece: out/<name>.mp4", check=lambda v: None if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", v) else f"{v!r} cannot be a file name: use letters, digits, '.', '_' and '-'"),
        "score": Field(None, "str", "score file (.mid, .musicxml, .mxl, .mscz, .mscx)", nullable=True),
        "song": Field(None, "str", "a finished song (.wav .flac .mp3 .ogg) that replaces the score stages", nullable=True),
        "title": Field("", "str", "title shown in the video and stored in its metadata"),
    },
    help="what the piece is and where its source lives",
)


SCHEMA: dict[str, Section] = {
    "piece": PIECE,
    "song": SONG,
    "stems": STEMS,
    "part_defaults": PART,
    "mix": MIX,
    "features": FEATURES,
    "notes": NOTES,
    "latents": LATENTS,
    "gan": GAN,
    "stylegan": STYLEGAN,
    "effects": EFFECTS,
    "video": VIDEO,
    "mux": MUX,
}
PARTS_KEY = "parts"
# conduct: maps the score's parts (any key, like parts:) and the reserved key `sections`
# to what they drive; written to conduct.json, read by the latents stage, which checks the
# part names against notes.npz and the targets against the model.
CONDUCT_KEY = "conduct"


def _merge(defaults: Any, override: Any) -> Any:
    """Deep-merge ``override`` onto ``defaults`` (mappings merge; anything else replaces)."""
    if isinstance(defaults, dict) and isinstance(override, dict):
        merged = dict(defaults)
        for key, value in override.items():
            merged[key] = _merge(defaults.get(key), value) if key in defaults else value
        return merged
    return override



@dataclass
class Params:
    """Validated parameters: one dict per section, and each named part's own dict."""

    sections: dict[str, dict]
    parts: dict[str, dict] = field(default_factory=dict)

    def part(self, name: str) -> dict:
        """The settings for one part: its own keys over ``part_defaults``."""
        return self.parts.get(name, self.sections["part_defaults"])



def validate(data: Mapping[str, Any], source: str = "params.yaml") -> Params:
    """Validate a whole params mapping (as loaded from YAML)."""
    known = list(SCHEMA) + [PARTS_KEY, CONDUCT_KEY]
    for key in data:
        if key not in known:
            raise DreamreelError(f"{source}: {key}", "unknown section", _suggest(str(key), known))
    sections = {name: validate_section(f"{source}: {name}", spec, data.get(name)) for name, spec in SCHEMA.items()}
    sections[CONDUCT_KEY] = validate_conduct(data.get(CONDUCT_KEY), f"{source}: {CONDUCT_KEY}")
    raw_parts = data.get(PARTS_KEY) or {}
    if not isinstance(raw_parts, dict):
        raise DreamreelError(f"{source}: parts", "expected a mapping of part names", "e.g. parts:\\n  vibraphone:\\n    gain_db: -3")
    raw_defaults = data.get("part_defaults") or {}
    parts = {}
    for name, values in raw_parts.items():
        if values is not None and not isinstance(values, dict):
            raise DreamreelError(f"{source}: parts.{name}", f"expected a mapping of keys, got {values!r}", "indent its keys under it")
        merged = _merge(raw_defaults, values or {})
        parts[str(name)] = validate_section(f"{source}: parts.{name}", PART, merged)
    return Params(sections, parts)



def load(path: str | Path) -> Params:
    """Load and validate a params.yaml file."""
    return validate(load_yaml(path), source=str(path))
