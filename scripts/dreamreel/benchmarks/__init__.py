"""Benchmark modules: each has ``run(out_dir, quick) -> list[dict]`` (collected by scripts/bench.py)."""
