"""Benchmarks: each module has ``run(out_dir, quick) -> list[dict]``; scripts/bench.py collects them."""
