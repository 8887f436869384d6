"""The machinery of params.yaml: typed fields, sections, validation and canonical JSON.

Every tunable of a piece lives in ``params.yaml``, one top-level section per stage
(``stems``, ``parts``, ``mix``, ...). Each section is checked against a schema of
:class:`Field` objects that give its type, unit, range and default, and then written to
``build/<piece>/params/<section>.json`` in a canonical form (sorted keys, defaults filled
in). A JSON file is rewritten only when its bytes change, so Make reruns exactly the
stages whose parameters moved.

Each stage declares its own sections (``dreamreel.<stage>.sections``);
:mod:`dreamreel.schema` gathers them and validates a whole file. This module holds only
the machinery, so a stage that reads its section JSON imports no other stage.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from dreamreel.core.errors import DreamreelError


@dataclass(frozen=True)
class Field:
    """One parameter: its default, accepted type, allowed range and a word of help.

    ``kind`` is one of ``"number"``, ``"int"``, ``"bool"``, ``"str"``, ``"list"``,
    ``"any"``. ``choices`` restricts strings to a set. ``minimum``/``maximum`` bound
    numbers (inclusive). ``nullable`` admits ``null`` (YAML ``~``). ``check`` returns the
    problem with a valid value's content, or None; it may instead raise a
    :class:`DreamreelError` whose ``where`` is a suffix of the field's (``"[2].amount"``),
    to name one entry of a list.
    """

    default: Any
    kind: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    nullable: bool = False
    check: Callable[[Any], str | None] | None = None


@dataclass(frozen=True)
class Section:
    """A mapping of names to :class:`Field` or nested :class:`Section`.

    ``optional`` sections may be ``null`` in params.yaml to switch a whole effect off
    (``tremolo: null``); ``enabled_by_default`` says whether it is on when not mentioned.
    """

    fields: Mapping[str, "Field | Section"]
    help: str = ""
    optional: bool = False
    enabled_by_default: bool = True


# ---------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------


def load_yaml(path: str | Path) -> dict:
    """Read params.yaml; any syntax or shape problem becomes a :class:`DreamreelError`."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "parameter file not found", "pass PARAMS=path/to/params.yaml or restore params.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise DreamreelError(f"{path}{line}", f"not valid YAML ({reason})", "fix the indentation or quoting there") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DreamreelError(str(path), "expected a mapping of sections (piece:, stems:, parts:, mix: ...)", "start each section at the left margin")
    return data


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(sorted(known))}"


def _check_value(where: str, spec: Field, value: Any) -> Any:
    if value is None:
        if spec.nullable:
            return None
        raise DreamreelError(where, "must not be empty", f"give a value ({spec.help}), e.g. {spec.default!r}")
    kind = spec.kind
    if kind in ("number", "int"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DreamreelError(where, f"expected a number, got {value!r}", f"write a plain number ({spec.help}), e.g. {spec.default!r}")
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise DreamreelError(where, f"expected a whole number, got {value!r}", f"e.g. {spec.default!r}")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise DreamreelError(where, f"expected a finite number, got {value!r}", f"e.g. {spec.default!r}")
        if spec.minimum is not None and value < spec.minimum or spec.maximum is not None and value > spec.maximum:
            raise DreamreelError(where, f"{value!r} is out of range", f"use a value from {spec.minimum:g} to {spec.maximum:g}")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise DreamreelError(where, f"expected true or false, got {value!r}", "write true or false")
    elif kind == "str":
        if not isinstance(value, str):
            raise DreamreelError(where, f"expected text, got {value!r}", f"quote it, e.g. {spec.default!r}")
        if spec.choices is not None and value not in spec.choices:
            raise DreamreelError(where, f"unknown value {value!r}", f"use one of: {', '.join(spec.choices)}")
    elif kind == "list":
        if not isinstance(value, list):
            raise DreamreelError(where, f"expected a list, got {value!r}", "write it as [a, b, c]")
    if spec.check is not None:
        try:
            problem = spec.check(value)
        except DreamreelError as error:
            # A check of a list of entries names the entry and its key itself ("[0].amount").
            raise DreamreelError(f"{where}{error.where}", error.problem, error.fix) from None
        if problem:
            raise DreamreelError(where, problem, spec.help)
    return value


def validate_section(where: str, section: Section, values: Any) -> dict | None:
    """Validate ``values`` against ``section`` and return it with defaults filled in.

    ``where`` is the prefix used in messages, e.g. ``"params.yaml: parts.vibraphone"``.
    Returns None for an optional section switched off with ``null``.
    """
    if values is None:
        if section.optional:
            return None
        values = {}
    if not isinstance(values, dict):
        raise DreamreelError(where, f"expected a mapping of keys, got {values!r}", "indent its keys under it, one per line")
    unknown = [key for key in values if key not in section.fields]
    if unknown:
        key = str(unknown[0])
        raise DreamreelError(f"{where}.{key}", "unknown key", _suggest(key, list(section.fields)))
    result: dict[str, Any] = {}
    for name, spec in section.fields.items():
        here = f"{where}.{name}"
        if isinstance(spec, Section):
            if name in values:
                result[name] = validate_section(here, spec, values[name])
            else:
                result[name] = validate_section(here, spec, {}) if spec.enabled_by_default else None
        else:
            result[name] = _check_value(here, spec, values[name]) if name in values else spec.default
    return result


def canonical_json(value: Any) -> bytes:
    """The one serialisation of a section: sorted keys, fixed separators, a final newline."""
    return (json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def read_section(path: str | Path) -> dict:
    """Read a section JSON written by ``scripts/params.py`` (what a stage script gets as --params)."""
    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "parameter section not found", "run it through make, which writes build/params/ from params.yaml")
    return json.loads(path.read_text(encoding="utf-8"))


# What messages call the params file when a script is not told (tests, a hand-run script).
DEFAULT_PARAMS_NAME = "params.yaml"


def add_params_name_option(parser) -> None:
    """Give a stage script ``--params-name FILE``: the params file as the user named it.

    A stage reads ``build/params/<section>.json``, a file the user never wrote; its
    messages name the user's file and key instead (``night.yaml: gan.weights``). The
    Makefile passes ``--params-name $(PARAMS)``.
    """
    parser.add_argument(
        "--params-name", default=DEFAULT_PARAMS_NAME, metavar="FILE",
        help=f"the params file the section came from, as messages should name it (default: {DEFAULT_PARAMS_NAME})",
    )


def section_where(params_name: str, section: str) -> str:
    """The prefix of every message about ``section``: ``"<params_name>: <section>"``."""
    return f"{params_name}: {section}"


def load_section(path: str | Path, section: str, *, params_name: str = DEFAULT_PARAMS_NAME, schema: Section | None = None) -> tuple[dict, str]:
    """Read the section JSON at ``path`` and the prefix its messages use.

    Returns ``(values, where)``, ``where`` being ``"<params_name>: <section>"``
    (``section`` may be dotted: ``parts.vibraphone``). With ``schema`` the values are
    validated (defaults filled in) and any problem is reported against ``where``.
    """
    where = section_where(params_name, section)
    values = read_section(path)
    if schema is not None:
        values = validate_section(where, schema, values)
    return values, where
