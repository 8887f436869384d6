"""The score conducts the walk: parts drive targets from their notes, sections change the scene."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conduct_helpers import features, notes
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.npz import save_npz
from dreamreel.core.params import validate_section
from dreamreel.gan.conduct import beats_to_seconds, resolve, scene_weights
from dreamreel.gan.latents import make_walk
from dreamreel.gan.sections import LATENTS, validate_conduct

PARTS = ["marimba", "vibraphone", "glockenspiel"]


def params(**overrides) -> dict:
    return validate_section("test", LATENTS, {"dynamics": 0.0, **overrides})


def walk(feats, note_data, mapping, *, model="auto", **overrides):
    conducting = resolve(validate_conduct(mapping, "test: conduct"), notes=note_data, features=feats, model=model)
    return make_walk(feats, params=params(**overrides), conducting=conducting)


def test_a_note_on_at_frame_45_moves_the_pulse_at_frame_45_and_not_before():
    feats = features(120)
    hit = walk(feats, notes(120, PARTS, [("marimba", 45, 10, 60, 127)]), {"marimba": {"drives": "pulse", "depth": 0.6}})
    rest = walk(feats, notes(120, PARTS, []), {"marimba": {"drives": "pulse", "depth": 0.6}})
    assert hit["noise"][:45].tobytes() == rest["noise"][:45].tobytes()
    # The full push on the note's own frame: pulse_depth x depth x velocity, in every dimension.
    push = np.abs(hit["noise"][45].astype(np.float64) - rest["noise"][45])
    np.testing.assert_allclose(push[push > 0].max(), 0.5 * 0.6, rtol=1e-5)
    assert np.count_nonzero(push > 1e-6) > 100  # the whole frame throbs (bar dimensions held at the edge)


def test_the_drive_replaces_the_audio_pulse_only_where_a_part_is_named():
    feats = features(90)
    note_data = notes(90, PARTS, [("marimba", 30, 5, 60, 100)])
    mapped = walk(feats, note_data, {"marimba": {"drives": "pulse"}})
    plain = make_walk(feats, params=params())
    assert not np.array_equal(mapped["pulse_drive"], plain["pulse_drive"])
    np.testing.assert_array_equal(mapped["motion_drive"], plain["motion_drive"])  # motion still follows the audio
    np.testing.assert_array_equal(mapped["classes"], plain["classes"])


def test_an_unmapped_walk_is_byte_identical_to_the_audio_walk(tmp_path):
    import latents as script

    save_npz(tmp_path / "features.npz", features(100))
    save_npz(tmp_path / "notes.npz", notes(100, PARTS, [("marimba", 10, 5, 60, 100)]))
    (tmp_path / "latents.json").write_text(json.dumps({"dynamics": 0.0}))
    (tmp_path / "conduct.json").write_text("{}")
    base = [str(tmp_path / "features.npz")]
    assert run_cli(script.main, [*base, str(tmp_path / "plain.npz"), "--params", str(tmp_path / "latents.json")]) == 0
    assert run_cli(script.main, [*base, str(tmp_path / "empty.npz"), "--params", str(tmp_path / "latents.json"),
                                 "--conduct", str(tmp_path / "conduct.json"), "--notes", str(tmp_path / "notes.npz")]) == 0
    assert (tmp_path / "plain.npz").read_bytes() == (tmp_path / "empty.npz").read_bytes()


def test_a_parts_noise_subspace_moves_only_its_own_dimensions():
    feats = features(90)
    mapping = {"glockenspiel": {"drives": "noise", "dims": 16}}
    played = walk(feats, notes(90, PARTS, [("glockenspiel", 30, 3, 84, 127), ("glockenspiel", 60, 3, 86, 90)]), mapping)
    silent = walk(feats, notes(90, PARTS, []), mapping)
    owner = played["noise_owner"]
    mine = owner == 0
    assert mine.sum() == 16 and np.array_equal(owner, silent["noise_owner"])
    # The rest of the walk is the same bytes; the part's dimensions stand still until its first note...
    assert played["noise"][:, ~mine].tobytes() == silent["noise"][:, ~mine].tobytes()
    assert np.array_equal(played["noise"][:30, mine], np.repeat(played["noise"][:1, mine], 30, axis=0))
    # ...then move on each note and stay where it left them.
    assert np.abs(played["noise"][40, mine] - played["noise"][29, mine]).min() > 0.05
    assert np.array_equal(silent["noise"][:, mine], np.repeat(silent["noise"][:1, mine], 90, axis=0))


def test_two_noise_parts_own_disjoint_dimensions():
    feats = features(30)
    both = walk(feats, notes(30, PARTS, []), {"glockenspiel": {"drives": "noise", "dims": 8}, "vibraphone": {"drives": ["noise", "classes"], "dims": 24}})
    owner = both["noise_owner"]
    assert (owner == 0).sum() == 8 and (owner == 1).sum() == 24 and (owner == -1).sum() == 96


def test_pitch_classes_pick_the_classes():
    feats = features(120)
    # An A held from frame 0: the class of pitch class A (9) wins; the chroma is ignored.
    played = walk(feats, notes(120, PARTS, [("vibraphone", 0, 120, 69, 100)]), {"vibraphone": {"drives": "classes"}}, class_smoothing_s=0.0)
    indices = played["class_indices"]
    weights = played["classes"][-1, indices]
    assert np.argmax(weights) == 9 and np.count_nonzero(weights) == 1


def test_truncation_follows_the_velocity_in_steps():
    feats = features(60)
    played = walk(feats, notes(60, PARTS, [("marimba", 20, 20, 60, 127)]), {"marimba": {"drives": "truncation", "depth": 0.5}}, truncation=0.8)
    truncation = played["truncation"]
    assert truncation[0] == np.float32(0.4) and truncation[25] == np.float32(0.8)
    assert set(np.round(truncation / 0.05, 4).tolist()) <= set(float(i) for i in range(21))


def test_a_scene_changes_at_a_section_start():
    feats = features(150)
    note_data = notes(150, PARTS, [], sections=[0, 60])
    scened = walk(feats, note_data, {"sections": {"drives": "scene", "crossfade_s": 0.5}})
    plain = make_walk(feats, params=params())
    assert scened["classes"][:60].tobytes() == plain["classes"][:60].tobytes()
    sets = scened["scene_class_indices"]
    assert sets.shape == (2, 12) and not set(sets[0]) == set(sets[1])
    assert np.count_nonzero(scened["classes"][60, sets[1]]) > 0  # the new scene shows from the section's first frame
    assert np.count_nonzero(scened["classes"][80][np.setdiff1d(sets[0], sets[1])]) == 0  # faded in after 15 frames
    np.testing.assert_allclose(scened["scene_weights"][60:76, 1], np.clip(np.arange(1, 17) / 15, 0, 1), rtol=1e-6)


def test_scene_weights_cut_without_a_crossfade_and_sum_to_one():
    weights = scene_weights(np.array([0, 10, 20]), [0, 0, 5], 30)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert weights[9, 0] == 1.0 and weights[10, 1] == 1.0 and weights[20, 2] == pytest.approx(0.2)


def test_crossfade_beats_follow_the_tempo_at_the_section():
    from dreamreel.score.model import MeterChange, Part, Score, TempoChange

    # 4/4 at 120 bpm, then from bar 3 at 60 bpm: 2 beats are 1 s, then 2 s.
    score = Score(480, [Part("marimba", "Marimba", 12)], [TempoChange(0, 500_000), TempoChange(3840, 1_000_000)], [MeterChange(0, 4, 4)],
                  [0, 1920, 3840, 5760, 7680])
    assert beats_to_seconds(score, 0.0, 2) == pytest.approx(1.0)
    assert beats_to_seconds(score, 4.0, 2) == pytest.approx(2.0)


def test_a_change_at_the_end_leaves_the_start_byte_identical():
    feats = features(200)
    mapping = {"marimba": {"drives": ["pulse", "motion"]}, "glockenspiel": {"drives": "noise"}, "vibraphone": {"drives": "classes"}}
    early = [("marimba", 20, 10, 60, 100), ("glockenspiel", 40, 4, 84, 100), ("vibraphone", 0, 100, 64, 90)]
    a = walk(feats, notes(200, PARTS, early, sections=[0, 150]), {**mapping, "sections": {"crossfade_s": 1.0}})
    b = walk(feats, notes(200, PARTS, early + [("marimba", 170, 10, 62, 127), ("glockenspiel", 180, 4, 86, 127)], sections=[0, 150]),
             {**mapping, "sections": {"crossfade_s": 1.0}})
    assert a["noise"][:170].tobytes() == b["noise"][:170].tobytes()
    assert not np.array_equal(a["noise"][170:], b["noise"][170:])


def test_a_part_without_notes_drives_from_its_own_stem():
    feats = features(60)
    feats["part_names"] = np.asarray(["drums"])
    feats["part_onset"] = np.zeros((60, 1), np.float32)
    feats["part_onset"][25, 0] = 1.0
    feats["part_rms"] = np.zeros((60, 1), np.float32)
    hit = walk(feats, None, {"drums": {"drives": "pulse"}})
    assert np.abs(hit["noise"][25] - hit["noise"][24]).max() > 0.4
    with pytest.raises(DreamreelError, match=r"conduct\.drums\.drives: 'drums' has no notes, so no pitch classes for classes"):
        walk(feats, None, {"drums": {"drives": "classes"}})


@pytest.mark.parametrize(("mapping", "model", "message"), [
    ({"tuba": {"drives": "pulse"}}, "auto", r"x\.yaml: conduct\.tuba: the piece has no part 'tuba' — name one of its parts: marimba, vibraphone, glockenspiel"),
    ({"marimba": {"drives": "fine"}}, "biggan-deep-128", r"conduct\.marimba\.drives: biggan-deep-128 has no target 'fine' — use one of: pulse, motion, classes, noise, truncation"),
    ({"marimba": {"drives": "truncation"}}, "cppn", r"cppn has no target 'truncation' — use one of: pulse, motion, classes, noise"),
    ({"marimba": {"drives": "classes"}}, "stylegan", r"stylegan has no target 'classes' — use one of: coarse, middle, fine, pulse, anchors, truncation"),
    ({"marimba": {"drives": "pulse", "depth": 3}}, "auto", r"conduct\.marimba\.depth: 3\.0 is out of range — use a value from 0 to 1"),
    ({"marimba": {"depth": 0.5}}, "auto", r"conduct\.marimba\.drives: missing"),
    ({"marimba": {"drives": "pulse"}, "Marimba": {"drives": "motion"}}, "auto", r"conduct\.Marimba: names the same part as conduct\.marimba \(the part 'marimba'\)"),
])
def test_bad_mappings_exit_2_with_one_line(tmp_path, capsys, mapping, model, message):
    import latents as script

    save_npz(tmp_path / "features.npz", features(40))
    save_npz(tmp_path / "notes.npz", notes(40, PARTS, []))
    (tmp_path / "latents.json").write_text("{}")
    (tmp_path / "model.json").write_text(json.dumps({"model": model, "weights": None}))
    (tmp_path / "conduct.json").write_text(json.dumps(mapping))
    argv = [str(tmp_path / "features.npz"), str(tmp_path / "out.npz"), "--params", str(tmp_path / "latents.json"), "--model", str(tmp_path / "model.json"),
            "--conduct", str(tmp_path / "conduct.json"), "--notes", str(tmp_path / "notes.npz"), "--params-name", "x.yaml"]
    if model == "stylegan":
        argv += ["--stylegan", str(tmp_path / "latents.json")]
        (tmp_path / "model.json").write_text(json.dumps({"model": model, "weights": "model.pkl"}))
    assert run_cli(script.main, argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("dreamreel: error: ")
    assert __import__("re").search(message, err), err
    assert not (tmp_path / "out.npz").exists()


def test_a_stylegan_part_drives_its_layer_group_only(tmp_path):
    from dreamreel.gan.models.stylegan import stylegan_walk
    from dreamreel.gan.sections import STYLEGAN
    from stylegan_fixtures import tiny_config, tiny_generator, write_nvlabs_pytorch

    path = write_nvlabs_pytorch(tmp_path / "sg2.pkl", tiny_generator(tiny_config()))
    feats = features(40, still=True)
    stylegan_params = validate_section("test", STYLEGAN, {"dynamics": 0.0, "coarse_max_px": 4, "middle_max_px": 8})

    def ws(events):
        conducting = resolve(validate_conduct({"glockenspiel": {"drives": "fine"}}, "c"), notes=notes(40, PARTS, events), features=feats, model="stylegan")
        walk = stylegan_walk(feats, weights=path, params=stylegan_params, conducting=conducting)
        return {**walk, "ws": walk["ws"].collect()}

    played, silent = ws([("glockenspiel", 20, 2, 84, 127)]), ws([])
    groups = played["layer_group"]
    moved = np.abs(played["ws"] - silent["ws"]).max(axis=(0, 2))
    assert np.all(moved[groups == 2] > 0) and np.all(moved[groups != 2] == 0)
    assert np.array_equal(played["ws"][:20], silent["ws"][:20])


def test_a_songs_crossfade_beats_count_the_beats_before_the_section():
    feats = features(300, still=True)
    feats["onset"][::15] = 1.0  # a hit every half second: 120 BPM
    song = notes(300, [], [], sections=[0, 240])
    conducting = resolve(validate_conduct({"sections": {"crossfade_beats": 4}}, "c"), notes=song, features=feats, model="cppn")
    ramp = conducting.scenes[:, 1]
    # 4 beats at 120 BPM = 2 s = 60 frames from frame 240 on.
    assert ramp[239] == 0 and ramp[240] == pytest.approx(1 / 60) and ramp[299] == pytest.approx(1.0)
    feats["onset"][:] = 0.0
    with pytest.raises(DreamreelError, match=r"conduct\.sections\.crossfade_beats: there is no beat to count in before the section at 8\.0 s"):
        resolve(validate_conduct({"sections": {"crossfade_beats": 4}}, "c"), notes=song, features=feats, model="cppn")


def test_a_scene_gives_stylegan_anchors_of_its_own(tmp_path):
    from dreamreel.gan.models.stylegan import stylegan_walk
    from dreamreel.gan.sections import STYLEGAN
    from stylegan_fixtures import tiny_config, tiny_generator, write_nvlabs_pytorch

    path = write_nvlabs_pytorch(tmp_path / "sg2.pkl", tiny_generator(tiny_config()))
    feats = features(40)
    stylegan_params = validate_section("test", STYLEGAN, {"dynamics": 0.0, "chroma_smoothing_s": 0.0})
    conducting = resolve(validate_conduct({"sections": {"crossfade_s": 0.0}}, "c"), notes=notes(40, PARTS, [], sections=[0, 20]), features=feats, model="stylegan")
    scened = stylegan_walk(feats, weights=path, params=stylegan_params, conducting=conducting)["ws"].collect()
    plain = stylegan_walk(feats, weights=path, params=stylegan_params)["ws"].collect()
    assert np.array_equal(scened[:20], plain[:20]) and not np.allclose(scened[20:], plain[20:])


def test_stylegan_inputs_follow_the_dynamics_and_take_the_parts_in_place_of_the_features():
    from dreamreel.gan.conduct import stylegan_inputs

    feats = features(30)
    inputs = {name: np.full(30, 0.8, np.float32) for name in ("band_low", "band_mid", "band_high", "onset", "rms")}
    inputs["chroma"] = feats["chroma"]
    gain = np.full(30, 0.5)
    conducting = resolve(validate_conduct({"vibraphone": {"drives": ["anchors", "coarse"], "depth": 0.5}}, "c"),
                         notes=notes(30, PARTS, [("vibraphone", 10, 20, 69, 127)]), features=feats, model="stylegan")
    result = stylegan_inputs(inputs, gain=gain, conducting=conducting)
    np.testing.assert_allclose(result["band_mid"], 0.4)  # audio drives halved by the gain
    assert result["band_low"][10] == pytest.approx(0.5) and not result["band_low"][:10].any()  # the part's note-on, at its depth
    assert np.argmax(result["chroma"][15]) == 9 and result["chroma"][15].max() == pytest.approx(0.5)  # A, at its depth
    np.testing.assert_array_equal(result["chroma"][:10], 0.0)
