"""Run the benchmarks and write OUT (out/bench.json); print one table.

Inputs:  none (each benchmark builds its own inputs: the demo score, synthetic songs)
Outputs: OUT, a JSON list of rows {stage, input, seconds, x_realtime, peak_rss_mb, ...}
Options: --quick (short inputs, for a smoke run), --only NAME[,NAME] (audio, pan, gan, ...)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

from dreamreel import benchmarks
from dreamreel.core.atomic import write_bytes_atomic
from dreamreel.core.errors import DreamreelError, run_cli

COLUMNS = ("stage", "input", "seconds", "x_realtime", "peak_rss_mb")


def _cell(value) -> str:
    """Four significant digits for measurements; whole numbers and text as they are."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    if isinstance(value, list):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    return str(value)


def format_table(rows: list[dict]) -> str:
    """One aligned table; columns beyond the common five are those these rows have."""
    extra = [key for key in dict.fromkeys(k for row in rows for k in row) if key not in COLUMNS and key != "benchmark"]
    header = [*COLUMNS, *extra]
    cells = [[_cell(row.get(key)) for key in header] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths)).rstrip() for cell in cells]
    return "\n".join(lines)


def format_report(rows: list[dict]) -> str:
    """A table per benchmark, so each shows only its own extra columns (ratios, baselines)."""
    names = list(dict.fromkeys(row["benchmark"] for row in rows))
    return "\n\n".join(f"[{name}]\n" + format_table([r for r in rows if r["benchmark"] == name]) for name in names)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    args = parser.parse_args(argv)

    names = benchmarks.modules()
    chosen = [n for n in args.only.split(",") if n] or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise DreamreelError("--only", f"unknown benchmark '{unknown[0]}'", f"choose from {', '.join(names)}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="dreamreel-bench-") as scratch:
        for name in chosen:
            started = time.perf_counter()
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            for row in benchmarks.load(name).run(Path(scratch), args.quick):
                rows.append({"benchmark": name, **row})
            print(f"bench: {name} done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    print(format_report(rows))
    report = {"machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()}, "quick": args.quick, "rows": rows}
    write_bytes_atomic(args.out, (json.dumps(report, indent=1) + "\n").encode())
    print(f"written: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
