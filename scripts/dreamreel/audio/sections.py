"""The params sections of the audio stage: stems, part_defaults and parts.<part>, mix.

Declared apart from the code that uses them, so that the params split
(``scripts/params.py``) reads these declarations without importing the stage's logic.
"""

from __future__ import annotations

from dreamreel.core.params import Field, Section

STEMS = Section(
    {
        "soundfont": Field("auto", "str", "General MIDI .sf2 file, or auto for the first one installed"),
        "synth_gain": Field(0.5, "number", "FluidSynth master gain (linear)", minimum=0.01, maximum=10.0),
        "tail_s": Field(3.0, "number", "silence kept after the last bar so reverb can ring out", minimum=0.0, maximum=60.0),
    },
    help="rendering the score to one WAV per part",
)



TREMOLO = Section(
    {
        "speed_hz": Field(6.0, "number", "tremolo rate", minimum=0.1, maximum=100.0),
        "depth_pct": Field(33.0, "number", "tremolo depth", minimum=0.0, maximum=100.0),
    },
    help="SoX tremolo; null switches it off",
    optional=True,
    enabled_by_default=False,
)



REVERB = Section(
    {
        "reverberance_pct": Field(60.0, "number", "SoX reverberance (tail length)", minimum=0.0, maximum=100.0),
        "hf_damping_pct": Field(50.0, "number", "SoX high-frequency damping", minimum=0.0, maximum=100.0),
        "room_scale_pct": Field(55.0, "number", "SoX room scale", minimum=0.0, maximum=100.0),
        "stereo_depth_pct": Field(100.0, "number", "SoX stereo depth", minimum=0.0, maximum=100.0),
        "pre_delay_ms": Field(0.0, "number", "delay before the reverb starts", minimum=0.0, maximum=500.0),
        "wet_gain_db": Field(0.0, "number", "gain of the reverberated signal", minimum=-60.0, maximum=20.0),
    },
    help="SoX reverb of the wet bus (wet only: the dry signal goes to the dry bus)",
    optional=True,
    enabled_by_default=True,
)



PART = Section(
    {
        "gain_db": Field(0.0, "number", "level of this part before the buses", minimum=-96.0, maximum=40.0),
        "mute": Field(False, "bool", "leave this part out of the mix"),
        "tremolo": TREMOLO,
        "reverb": REVERB,
        "pan": Field(None, "any", "8D pan automation (keyframes in bars and beats); null = centre", nullable=True),
    },
    help="processing of one part: parts.<part name>",
)



MIX = Section(
    {
        "dry_gain_db": Field(0.0, "number", "level of the dry bus", minimum=-96.0, maximum=40.0),
        "wet_gain_db": Field(-6.0, "number", "level of the wet (reverb, 8D) bus", minimum=-96.0, maximum=40.0),
        "loudness_lufs": Field(-14.0, "number", "integrated loudness of the master (ITU-R BS.1770)", minimum=-60.0, maximum=-5.0),
        "true_peak_dbtp": Field(-1.0, "number", "ceiling for the master's true peak", minimum=-20.0, maximum=0.0),
        "normalize_song": Field(False, "bool", "also loudness-normalise a SONG (it is usually mastered already)"),
    },
    help="summing the buses into build/mix/master.wav",
)
