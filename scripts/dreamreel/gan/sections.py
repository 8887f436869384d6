"""The params sections of the GAN stage: features, notes, latents, gan, stylegan.

Declared apart from the code that uses them, so that the params split
(``scripts/params.py``) reads these declarations without importing the stage's logic:
editing the renderer then reruns the renderer, not the whole pipeline.
"""

from __future__ import annotations

from typing import Any

from dreamreel.core.errors import DreamreelError
from dreamreel.core.params import Field, Section, validate_section
from dreamreel.core.timing import check_fps


def _check_band_edges(value: Any) -> str | None:
    if not isinstance(value, list) or len(value) != 2:
        return "expected two frequencies [low_mid_hz, mid_high_hz]"
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return "expected numbers in hertz"
    low, high = value
    if not 20 <= low < high <= 20000:
        return f"edges {value} must rise within 20–20000 Hz"
    return None



FEATURES = Section(
    {
        "fps": Field(30, "any", 'video frame rate: an integer or an exact fraction such as "30000/1001"', check=check_fps),
        "source": Field(
            "stems", "str",
            "what the pictures listen to: stems (the rendered parts summed, before gain, effects and mix, so mixing edits only remux) "
            "or master (the final mix: tremolo and reverb move the pictures too, and every mixing edit re-renders them); a SONG is its own master",
            choices=("stems", "master"),
        ),
        "analysis_rate_hz": Field(22050, "int", "sample rate the mono mix is resampled to for analysis (the chroma transform needs 11025 or more)", minimum=11025, maximum=96000),
        "band_edges_hz": Field([250.0, 2000.0], "list", "edges between the low, mid and high bands, in Hz", check=_check_band_edges),
        "mel_fmax_hz": Field(8000.0, "number", "highest mel-band frequency for power and bands", minimum=1000.0, maximum=48000.0),
        "norm_release_s": Field(8.0, "number", "release time of the rolling peak normaliser: how long a loud moment keeps later ones small", minimum=0.1, maximum=600.0),
        "gate_dbfs": Field(-60.0, "number", "frames quieter than this RMS level read as silence (all features 0)", minimum=-120.0, maximum=0.0),
    },
    help="audio analysis for the GAN: features sampled at the video frame instants",
)


MAX_CLASSES = 12



def _check_class_list(value: Any) -> str | None:
    if not isinstance(value, list):
        return "expected a list of ImageNet class indices or names"
    if len(value) > MAX_CLASSES:
        return f"at most {MAX_CLASSES} classes (one per pitch class), got {len(value)}"
    return None



# The picture's energy follows the music's loudness across sections (both walks).
DYNAMICS_FIELDS = {
    "dynamics": Field(0.75, "number", "how far the audio drives follow the music's level across sections: 0 = every section as lively as the "
                                      "loudest (the rolling normaliser alone), 1 = a passage 12 dB down moves at a quarter of the speed",
                      minimum=0.0, maximum=1.0),
    "dynamics_release_s": Field(120.0, "number", "how long a loud passage stays the reference that later ones are measured against", minimum=1.0, maximum=3600.0),
    "dynamics_smoothing_s": Field(1.0, "number", "time constant of the level (looking back only): beats and hits average out", minimum=0.05, maximum=60.0),
}


LATENTS = Section(
    {
        "seed": Field(0, "int", "seed of every random choice in the walk (start point, jitter, pulse direction, classes)", minimum=0, maximum=2**32 - 1),
        "truncation": Field(1.0, "number", "BigGAN truncation: the walk stays within ±2×truncation; smaller is tamer", minimum=0.02, maximum=1.0),
        "motion_speed_per_s": Field(5.0, "number", "noise units travelled per second at full drive (reference: 0.25/frame × 43.07 fps ≈ 10.8)", minimum=0.0, maximum=100.0),
        "motion_power_weight": Field(1.0, "number", "weight of mel power + its rise in the motion drive (reference: 1)", minimum=0.0, maximum=10.0),
        "motion_harmonic_weight": Field(0.5, "number", "weight of harmonic (HPSS) energy in the motion drive (reference: 0)", minimum=0.0, maximum=10.0),
        "motion_smoothing_s": Field(0.081, "number", "time constant smoothing the motion steps (0.081 s = the reference's 3:1 at 43.07 fps)", minimum=0.0, maximum=10.0),
        "motion_jitter": Field(0.5, "number", "per-dimension speed randomness, 0 (none) to 1 (dimensions may stop)", minimum=0.0, maximum=1.0),
        "motion_jitter_period_s": Field(4.64, "number", "seconds between jitter redraws (reference: 200 frames at 43.07 fps)", minimum=0.05, maximum=600.0),
        "pulse_depth": Field(0.5, "number", "noise units a full-strength hit pushes every dimension (0 = no pulse)", minimum=0.0, maximum=4.0),
        "pulse_onset_weight": Field(1.0, "number", "weight of onset strength in the pulse", minimum=0.0, maximum=10.0),
        "pulse_percussive_weight": Field(0.5, "number", "weight of percussive (HPSS) energy in the pulse", minimum=0.0, maximum=10.0),
        "pulse_decay_s": Field(0.2, "number", "time for a pulse to fall to 1/e after a hit", minimum=0.0, maximum=10.0),
        "class_ids": Field([], "list", "up to 12 ImageNet classes by index (0–999) or name, one per pitch class; [] = 12 chosen from the seed", check=_check_class_list),
        "class_order": Field("pitch", "str", "pitch: class i follows pitch class i (C, C#, ...); power: the song's strongest pitch classes first (uses the whole song)", choices=("pitch", "power")),
        "class_response_s": Field(1.87, "number", "time for class weights to follow the chroma (reference pitch sensitivity 220 ≈ 1.87 s)", minimum=0.0, maximum=60.0),
        "class_smoothing_s": Field(0.46, "number", "width of the centred moving average over class weights (reference: 20 frames at 43.07 fps)", minimum=0.0, maximum=30.0),
        "class_depth": Field(1.0, "number", "scale of the class vector, 0 to 1", minimum=0.0, maximum=1.0),
        **DYNAMICS_FIELDS,
    },
    help="the latent walk for BigGAN and cppn: pulse_* (instant hits), motion_* (travel), class_* (ImageNet classes from chroma), dynamics*",
)


# Targets a part can drive (conduct: <part>: {drives: ...}), per kind of walk. cppn draws
# from the same noise and class vectors as BigGAN but has no truncation; BigGAN's
# truncation is also what gan.model: auto gets (ignored if auto falls back to cppn).
BIGGAN_TARGETS = ("pulse", "motion", "classes", "noise", "truncation")
CPPN_TARGETS = ("pulse", "motion", "classes", "noise")
STYLEGAN_TARGETS = ("coarse", "middle", "fine", "pulse", "anchors", "truncation")
# The one thing the sections entry drives: a new class set (BigGAN, cppn) or anchor set
# (StyleGAN) at each section start.
SCENE_TARGET = "scene"
SECTIONS_KEY = "sections"


def _check_drives(value: Any) -> str | None:
    targets = [value] if isinstance(value, str) else value
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
        return f"expected a target or a list of targets, e.g. pulse or [pulse, classes], got {value!r}"
    if len(set(targets)) != len(targets):
        return f"a target is named twice in {value!r}"
    return None


CONDUCT_PART = Section(
    {
        "drives": Field(None, "any", "what the part's notes move: BigGAN/cppn pulse, motion, classes, noise, truncation; "
                                     "StyleGAN coarse, middle, fine, pulse, anchors, truncation; one or a list", check=_check_drives),
        "depth": Field(1.0, "number", "how much of the target's full range the part uses, 0 to 1", minimum=0.0, maximum=1.0),
        "dims": Field(16, "int", "noise: how many of the 128 noise dimensions the part owns (chosen from latents.seed)", minimum=1, maximum=64),
    },
    help="one conducted part: what its notes drive",
)


CONDUCT_SECTIONS = Section(
    {
        "drives": Field(SCENE_TARGET, "str", "scene: a new class set (BigGAN, cppn) or anchor set (StyleGAN) at each section start", choices=(SCENE_TARGET,)),
        "crossfade_beats": Field(2.0, "number", "beats (from the score's tempo there) over which the new scene fades in", minimum=0.0, maximum=64.0),
        "crossfade_s": Field(None, "number", "seconds instead of beats (needed for a song without a score)", minimum=0.0, maximum=120.0, nullable=True),
    },
    help="the sections of the piece (notes.npz) change the scene",
)


def validate_conduct(raw: Any, where: str) -> dict[str, dict]:
    """The ``conduct`` mapping checked for shape, each entry's defaults filled in.

    Keys are part names as the user wrote them (any spelling ``parts:`` accepts) and the
    reserved ``sections``. The split checks the shape; the latents stage checks the part
    names against notes.npz and the targets against the model. An empty or absent
    mapping conducts nothing: every target keeps its audio drive.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DreamreelError(where, "expected a mapping of part names to {drives: ..., depth: ...}", "e.g. conduct: {marimba: {drives: pulse, depth: 0.6}}")
    result = {}
    for name, values in raw.items():
        here = f"{where}.{name}"
        if str(name) == SECTIONS_KEY:
            result[SECTIONS_KEY] = validate_section(here, CONDUCT_SECTIONS, values)
            continue
        entry = validate_section(here, CONDUCT_PART, values)
        if entry["drives"] is None:
            raise DreamreelError(f"{here}.drives", "missing", "say what the part drives, e.g. drives: pulse")
        result[str(name)] = entry
    return result


def _check_mix_curve(value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return "expected a list of [px, t] points, e.g. [[4, 0.0], [32, 0.5], [256, 1.0]]"
    previous = 0.0
    for point in value:
        if not isinstance(point, list) or len(point) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in point):
            return f"each point is [px, t] with two numbers, got {point!r}"
        px, t = point
        if px < 4 or px <= previous:
            return f"resolutions must rise from 4 px up, got {px!r} after {previous:g}"
        if not 0.0 <= t <= 1.0:
            return f"t is the weight of the second model, from 0 to 1, got {t!r}"
        previous = px
    return None


BLEND = Section(
    {
        "with": Field(None, "str", "the second model file (B), of the same configuration as gan.weights (A), e.g. fine-tuned from it", nullable=True),
        "swap_at_px": Field(None, "int", "layer swap: blocks at and below this resolution from gan.weights (A), above it from B", minimum=4, maximum=2048, nullable=True),
        "mix_by_px": Field(None, "list", "interpolation instead: [[px, t], ...], B's weight t (0 = A, 1 = B) per resolution, linear in log2 px between points, flat outside",
                           nullable=True, check=_check_mix_curve),
    },
    help="blend gan.weights (StyleGAN) with a second model: give with, and swap_at_px or mix_by_px; the mapping (the walk) stays A's",
    optional=True,
    enabled_by_default=False,
)


GAN = Section(
    {
        "model": Field("auto", "str", "auto (BigGAN-deep-128 when its weights can be had, else cppn), cppn, biggan-deep-128, biggan-deep-256, biggan-deep-512, stylegan"),
        "weights": Field(None, "str", "BigGAN: a folder with config.json + pytorch_model.bin (null = the library cache, PYTORCH_PRETRAINED_BIGGAN_CACHE); StyleGAN: the .pkl or .pt file", nullable=True),
        "allow_download": Field(False, "bool", "let BigGAN download missing weights (needs the network; off so offline runs fail fast)"),
        "download_timeout_s": Field(30.0, "number", "socket timeout of that download", minimum=1.0, maximum=600.0),
        "size_px": Field(None, "int", "edge of the square frames; null = the model's own (BigGAN 128/256/512, cppn 256); BigGAN frames are scaled to it", minimum=16, maximum=4096, nullable=True),
        "cppn_seed": Field(0, "int", "seed that draws the cppn network", minimum=0, maximum=2**32 - 1),
        "device": Field("auto", "str", "auto (CUDA when available, else CPU), cpu or cuda", choices=("auto", "cpu", "cuda")),
        "precision": Field("auto", "str", "auto (fp16 on CUDA, bf16 on CPUs with native bf16, else fp32), fp32, bf16 or fp16", choices=("auto", "fp32", "bf16", "fp16")),
        "channels_last": Field(True, "bool", "NHWC memory layout for the convolutions (faster with bf16 and on CUDA)"),
        "batch_size": Field(None, "int", "frames per model call; null = 8 on a CPU (4 at 512 px), 16 on CUDA", minimum=1, maximum=256, nullable=True),
        "threads": Field(None, "int", "CPU threads for the model; null = all cores", minimum=1, maximum=1024, nullable=True),
        "segment_s": Field(4.0, "number", "length of one cached segment: the unit of resume and of re-render", minimum=0.25, maximum=120.0),
        "cache_limit_mb": Field(4096, "int", "when build/gan/segments grows past this, segments that no manifest lists are deleted, least recently used first; null = keep all", minimum=0, maximum=10**7, nullable=True),
        "cache_dir": Field(None, "str", "folder of the cached segments; null = build/<piece>/gan/segments; on a cluster, a folder every node sees at the same path (a shared filesystem)", nullable=True),
        "executor": Field("local", "str", "local (this process renders every segment) or ray (segments are tasks on a Ray cluster: RAY_ADDRESS, else an embedded one on this machine)", choices=("local", "ray")),
        "ray_workers": Field(None, "int", "with executor: ray, segments rendered at once; null = one per GPU, or one per node on a cluster without GPUs; gan.threads is split between them", minimum=1, maximum=4096, nullable=True),
        "draft_size_px": Field(128, "int", "frame edge of the draft render", minimum=16, maximum=4096),
        "draft_fps_divisor": Field(3, "int", "the draft keeps every n-th frame of the same walk (30 fps / 3 = 10 fps)", minimum=1, maximum=60),
        "blend": BLEND,
    },
    help="rendering the walk into frames: model, size, device, caching",
)


STYLEGAN = Section(
    {
        "seed": Field(0, "int", "seed of the 12 anchor latents and the 4 reaction directions", minimum=0, maximum=2**31 - 1),
        "noise_mode": Field("const", "str", "synthesis noise: const (fixed per layer, nothing shimmers) or none", choices=("const", "none")),
        "class_index": Field(None, "int", "class of a conditional model (c_dim > 0); leave empty for unconditional models",
                             minimum=0, maximum=1_000_000, nullable=True),
        "chroma_sharpness": Field(2.0, "number", "exponent on chroma before mixing the anchors; higher lets the strongest pitch class win", minimum=0.25, maximum=16.0),
        "chroma_smoothing_s": Field(1.0, "number", "time constant of the lag-free smoothing of the anchor mix", minimum=0.0, maximum=60.0),
        "coarse_max_px": Field(8, "int", "layers up to this resolution are coarse (layout, pose), driven by band_low", minimum=4, maximum=1024),
        "middle_max_px": Field(32, "int", "layers above coarse up to this resolution are middle (features), driven by band_mid; above: fine, band_high",
                               minimum=8, maximum=2048),
        "low_gain": Field(0.8, "number", "push of the coarse layers at full band_low, in typical latent distances", minimum=0.0, maximum=10.0),
        "mid_gain": Field(0.6, "number", "push of the middle layers at full band_mid", minimum=0.0, maximum=10.0),
        "high_gain": Field(0.5, "number", "push of the fine layers at full band_high", minimum=0.0, maximum=10.0),
        "band_release_s": Field(0.2, "number", "time constant of a band's decay after the sound stops (attack is instant)", minimum=0.0, maximum=10.0),
        "pulse_gain": Field(0.5, "number", "push of every layer at a full-strength onset", minimum=0.0, maximum=10.0),
        "pulse_decay_s": Field(0.25, "number", "time constant of an onset pulse's decay", minimum=0.0, maximum=10.0),
        "truncation_quiet": Field(0.5, "number", "truncation psi in silence (0 = the average image, 1 = untruncated)", minimum=0.0, maximum=2.0),
        "truncation_loud": Field(0.9, "number", "truncation psi at full loudness", minimum=0.0, maximum=2.0),
        "loudness_smoothing_s": Field(0.5, "number", "time constant of the lag-free smoothing of rms before it sets psi", minimum=0.0, maximum=60.0),
        "input_shift_px": Field(0.0, "number", "StyleGAN3 only: how far a full band_low slides the whole picture, in output pixels "
                                "(the slide direction turns once per input_shift_period_s)", minimum=0.0, maximum=4096.0),
        "input_shift_period_s": Field(8.0, "number", "StyleGAN3: seconds for the slide direction to turn a full circle", minimum=0.1, maximum=3600.0),
        "input_spin_deg_per_s": Field(0.0, "number", "StyleGAN3: steady turning of the whole picture, degrees per second (config r turns cleanly)",
                                      minimum=-3600.0, maximum=3600.0),
        "input_pulse_deg": Field(0.0, "number", "StyleGAN3: extra turn at a full-strength onset, decaying with pulse_decay_s", minimum=-360.0, maximum=360.0),
        **DYNAMICS_FIELDS,
    },
    help="StyleGAN audio mapping (gan.model: stylegan): features.npz -> ws in latents.npz",
)


def _check_numbers(kind: str) -> Any:
    """The type of a list of section starts; that they rise within the piece is checked by the
    notes stage, which knows the piece and so can name the valid range."""
    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return f"expected a list of {kind}"
        if kind == "bar numbers":
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                return "expected whole bar numbers, e.g. [1, 9, 17]"
        elif not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return "expected seconds, e.g. [0, 32.5, 61]"
        return None

    return check


def _check_song_sections(value: Any) -> str | None:
    if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 64):
        return None
    return "expected auto or a whole number of sections from 1 to 64"


NOTES = Section(
    {
        "attack_s": Field(0.01, "number", "rise time of a note's envelope to its velocity (shorter than a frame: full at once)", minimum=0.0, maximum=10.0),
        "release_s": Field(0.3, "number", "fall time of a note's envelope to 0 after the note ends", minimum=0.0, maximum=30.0),
        "density_window_s": Field(1.0, "number", "notes started per second are counted over this trailing window", minimum=0.01, maximum=60.0),
        "section_bars": Field([], "list", "played bar numbers where sections start, overriding the score's marks; [] = from the score "
                              "(rehearsal marks, double bars, tempo, meter and key changes)", check=_check_numbers("bar numbers")),
        "section_times_s": Field([], "list", "seconds where sections start, overriding segmentation (a song); [] = found by segmentation",
                                 check=_check_numbers("seconds")),
        "song_sections": Field("auto", "any", "how many sections segmentation finds in a song: auto (one per ~30 s) or a number", check=_check_song_sections),
    },
    help="the score's notes as per-part signals per frame, and the sections (build/<piece>/gan/notes.npz)",
)
