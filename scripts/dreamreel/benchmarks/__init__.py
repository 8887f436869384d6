"""Benchmark modules: each has ``run(out_dir: Path, quick: bool) -> list[dict]`` (collected by scripts/bench.py)."""
