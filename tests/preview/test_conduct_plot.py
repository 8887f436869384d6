"""The conduct picture: a row per conducted part, its motion read back from latents.npz."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from dreamreel.core.errors import run_cli
from dreamreel.core.npz import open_npz, save_npz
from dreamreel.core.params import validate_section
from dreamreel.gan.conduct import resolve
from dreamreel.gan.latents import make_walk
from dreamreel.gan.sections import LATENTS, validate_conduct
from dreamreel.preview.conduct_plot import target_motion

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gan"))
from conduct_helpers import features, notes  # noqa: E402

PARTS = ["marimba", "vibraphone", "glockenspiel"]
MAPPING = {"marimba": {"drives": "pulse"}, "vibraphone": {"drives": "classes"}, "glockenspiel": {"drives": "noise"}, "sections": {"crossfade_s": 0.5}}


def _latents(tmp_path):
    feats = features(120)
    note_data = notes(120, PARTS, [("marimba", 30, 5, 60, 100), ("glockenspiel", 45, 3, 84, 127), ("vibraphone", 0, 120, 64, 80)], sections=[0, 60])
    conducting = resolve(validate_conduct(MAPPING, "c"), notes=note_data, features=feats, model="cppn")
    save_npz(tmp_path / "latents.npz", make_walk(feats, params=validate_section("t", LATENTS, {}), conducting=conducting))
    save_npz(tmp_path / "notes.npz", note_data)
    return open_npz(tmp_path / "latents.npz")


def test_the_noise_row_measures_the_parts_own_dimensions_only(tmp_path):
    latents = _latents(tmp_path)
    index = latents["conduct_targets"].tolist().index("noise")
    motion, measure = target_motion(latents, index, "noise")
    assert measure == "|Δnoise| own 16 dims"
    # The glockenspiel's first note is at frame 45: its dimensions stand still until then.
    assert not motion[:45].any() and motion[45] > 0


def test_preview_conduct_writes_the_picture(tmp_path):
    import preview_conduct

    _latents(tmp_path)
    out = tmp_path / "piece-conduct.png"
    assert run_cli(preview_conduct.main, [str(tmp_path / "latents.npz"), str(tmp_path / "notes.npz"), str(out), "--title", "t"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    pixels = matplotlib.image.imread(out)
    height, width = pixels.shape[:2]
    assert width == 1600 and height > 4 * 150  # three part rows and the scenes row
    assert pixels[..., :3].std() > 0.05  # drawn, not blank
