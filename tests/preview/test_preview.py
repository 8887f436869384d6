"""Preview: moment picking on synthetic features, the two PNGs, and clear failures."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import compose
import numpy as np
import preview
import pytest
from dreamreel.core.errors import run_cli
from dreamreel.preview.moments import load_features, peaks, significant_moments
from dreamreel.video.sections import VIDEO
from video_fixtures import section_json, square_video, video_values

ROOT = Path(__file__).resolve().parents[2]
FPS = 24


def synthetic_features(seconds: float = 4.0, *, change_s: float = 2.0, onsets_s=(0.5, 1.25, 3.0), strongest_s: float = 1.25) -> dict:
    """Two sections (C major then A flat major chroma) and a few onsets, one clearly strongest."""
    n = int(seconds * FPS)
    t = np.arange(n) / FPS
    chroma = np.full((n, 12), 0.05)
    chroma[np.ix_(t < change_s, [0, 4, 7])] = 1.0
    chroma[np.ix_(t >= change_s, [8, 0, 3])] = 1.0
    onset = np.full(n, 0.01)
    for s in onsets_s:
        onset[int(round(s * FPS))] = 2.0 if s == strongest_s else 1.0
    rms = np.where(t < change_s, 0.2, 0.6)
    return {"onset": onset, "rms": rms, "chroma": chroma, "fps_num": FPS, "fps_den": 1, "bar_times_s": np.arange(0, seconds, 1.0)}


def test_peaks_keep_the_highest_apart():
    curve = np.array([0, 3, 0, 1, 0, 5, 4, 0, 2, 0], float)
    assert peaks(curve, count=2, min_distance=2) == [1, 5]
    assert peaks(curve, count=10, min_distance=3) == [1, 5, 8]


def test_moments_find_the_section_change_and_strongest_onset(tmp_path):
    np.savez(tmp_path / "f.npz", **synthetic_features())
    features = load_features(tmp_path / "f.npz")
    moments = significant_moments(features, count=3, section_window_s=0.5)
    sections = [m.frame for m in moments if m.reason == "section"]
    assert len(sections) == 1 and abs(sections[0] - 2 * FPS) <= 1
    onsets = [m.frame for m in moments if m.reason == "onset"]
    assert int(1.25 * FPS) in onsets
    assert [m.frame for m in moments] == sorted(m.frame for m in moments)


def test_margin_keeps_moments_away_from_the_fades(tmp_path):
    np.savez(tmp_path / "f.npz", **synthetic_features(onsets_s=(0.2, 2.5, 3.9), strongest_s=3.9))
    moments = significant_moments(load_features(tmp_path / "f.npz"), count=4, section_window_s=0.5, margin_s=0.5)
    assert all(0.5 * FPS <= m.frame < 3.5 * FPS for m in moments)


@pytest.fixture(scope="module")
def piece(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("preview")
    frames = square_video(folder / "frames.mkv", size=64, fps=Fraction(FPS), frames=4 * FPS)
    params = section_json(folder / "video.json", VIDEO, video_values())
    assert run_cli(compose.main, [str(frames), str(folder / "picture.mkv"), "--params", str(params), "--filters", str(ROOT / "filters")]) == 0
    np.savez(folder / "features.npz", **synthetic_features())
    rng = np.random.default_rng(1)
    np.savez(folder / "latents.npz", noise=np.cumsum(rng.normal(size=(4 * FPS, 128)), 0).astype(np.float32), classes=np.zeros((4 * FPS, 1000), np.float32), fps_num=FPS, fps_den=1)
    return folder


def run_preview(piece: Path, out: Path, *, features: Path | None = None) -> tuple[int, Path, Path]:
    sheet, plots = out / "demo-preview.png", out / "demo-features.png"
    argv = [str(piece / "picture.mkv"), str(features or piece / "features.npz"), str(piece / "latents.npz"), "--sheet", str(sheet), "--plots", str(plots), "--count", "4", "--margin-s", "0.25"]
    return run_cli(preview.main, argv), sheet, plots


def test_preview_writes_two_pngs(piece, tmp_path):
    status, sheet, plots = run_preview(piece, tmp_path / "out")
    assert status == 0
    import matplotlib.image

    for path in (sheet, plots):
        image = matplotlib.image.imread(path)
        assert image.shape[1] == 1600 and image.shape[0] > 400
        assert image.std() > 0.05  # not a blank canvas


@pytest.mark.parametrize("drop,needle", [("chroma", "chroma"), ("fps_num", "fps_num")])
def test_missing_feature_key_is_named(piece, tmp_path, capsys, drop, needle):
    values = synthetic_features()
    del values[drop]
    np.savez(tmp_path / "features.npz", **values)
    status, sheet, plots = run_preview(piece, tmp_path / "out", features=tmp_path / "features.npz")
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1
    assert f"features.npz: {needle}" in err
    assert not sheet.exists() and not plots.exists()


def test_frame_rate_mismatch_is_an_error(piece, tmp_path, capsys):
    values = synthetic_features()
    values["fps_num"] = 30
    np.savez(tmp_path / "features.npz", **values)
    status, sheet, plots = run_preview(piece, tmp_path / "out", features=tmp_path / "features.npz")
    assert status == 2
    assert "frame rate" in capsys.readouterr().err
    assert not sheet.exists() and not plots.exists()


def test_the_feature_plots_get_a_panel_of_effect_values_and_the_sheet_names_them(piece, tmp_path):
    """An effects table adds a panel: the plots grow taller and the new strip is not blank."""
    import matplotlib.image

    frames = 4 * FPS
    values = np.stack([np.where(np.arange(frames) % FPS == 0, 0.8, 0.0), np.linspace(0, 1, frames) % 0.25 * 4]).astype(np.float32)
    np.savez(tmp_path / "effects.npz", values=values, labels=np.array(["1: swirl 0.8 by beat", "2: rotate 1 by bar_phase"]), fps_num=FPS, fps_den=1)
    _, _, plain = run_preview(piece, tmp_path / "plain")
    sheet, plots = tmp_path / "out" / "demo-preview.png", tmp_path / "out" / "demo-features.png"
    argv = [str(piece / "picture.mkv"), str(piece / "features.npz"), str(piece / "latents.npz"), "--sheet", str(sheet), "--plots", str(plots),
            "--count", "4", "--margin-s", "0.25", "--effects", str(tmp_path / "effects.npz")]
    assert run_cli(preview.main, argv) == 0
    with_effects, without = matplotlib.image.imread(plots), matplotlib.image.imread(plain)
    assert with_effects.shape[0] > without.shape[0]
    assert with_effects[-200:-60].std() > 0.02
    # The contact sheet names the effects on in each frame: a second title line makes it taller.
    assert matplotlib.image.imread(sheet).shape[0] > matplotlib.image.imread(tmp_path / "plain" / "demo-preview.png").shape[0]
