"""Messages name the user's params file (--params-name), never build/params/<section>.json."""

from __future__ import annotations

import importlib
import json

import pytest
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import Field, Section, load_section

# Every stage script that reads a section JSON: the Makefile passes --params-name $(PARAMS) to each.
STAGE_SCRIPTS = ("render_stems", "process_stem", "mix", "import_song", "analyze", "notes", "latents", "render_frames", "compose", "mux", "preview_pan")


def test_load_section_gives_the_values_and_the_users_name_for_them(tmp_path):
    path = tmp_path / "build" / "params" / "mix.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"level_db": "loud"}))
    schema = Section({"level_db": Field(0.0, "number", "level")})
    assert load_section(path, "mix", params_name="pieces/night.yaml") == ({"level_db": "loud"}, "pieces/night.yaml: mix")
    with pytest.raises(DreamreelError, match=r"^pieces/night\.yaml: mix\.level_db: expected a number"):
        load_section(path, "mix", params_name="pieces/night.yaml", schema=schema)


@pytest.mark.parametrize("name", STAGE_SCRIPTS)
def test_every_stage_script_takes_params_name(name, capsys):
    script = importlib.import_module(name)
    with pytest.raises(SystemExit) as done:
        script.main(["--help"])
    assert done.value.code == 0
    assert "--params-name FILE" in capsys.readouterr().out


def test_stems_message_names_the_users_file(tmp_path, capsys):
    import render_stems

    params = tmp_path / "build" / "params" / "stems.json"
    params.parent.mkdir(parents=True)
    params.write_text(json.dumps({"soundfont": "auto", "synth_gain": 0.5, "tail_s": 0.5}))
    status = run_cli(render_stems.main, [str(tmp_path / "score.json"), "--params", str(params), "--out-dir", str(tmp_path / "stems"), "--params-name", "night.yaml"])
    assert status == 2
    assert capsys.readouterr().err.startswith("dreamreel: error: night.yaml: stems.soundfont: no General MIDI soundfont")


def test_render_frames_names_gan_weights_in_the_users_file(tmp_path, capsys):
    """It used to say "build/params/gan.json: gan.weights"."""
    import render_frames
    from dreamreel.core.npz import save_npz

    save_npz(tmp_path / "latents.npz", {"noise": __import__("numpy").zeros((2, 128), "float32"), "fps_num": 30, "fps_den": 1})
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "config.json").write_text("{}")
    (weights / "pytorch_model.bin").write_bytes(b"PK\x03\x04 cut short")
    params = tmp_path / "build" / "params" / "gan.json"
    params.parent.mkdir(parents=True)
    params.write_text(json.dumps({"model": "biggan-deep-128", "weights": str(weights)}))
    status = run_cli(render_frames.main, [str(tmp_path / "latents.npz"), str(tmp_path / "segments.json"), "--params", str(params),
                                          "--segments-dir", str(tmp_path / "segments"), "--params-name", "night.yaml"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("dreamreel: error: night.yaml: gan.weights"), err
    assert "build/params" not in err
