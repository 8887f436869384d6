#!/usr/bin/env bash
# Report which tools and Python packages dreamreel needs are present, with versions.
# Usage: doctor.sh PATH/TO/VENV/PYTHON. Exits 1 when something required is missing.
set -uo pipefail
python=${1:-.venv/bin/python}
missing=0
row() { printf '  %-28s %s\n' "$1" "$2"; }
need() {  # name, version command
  local name=$1; shift
  if command -v "$name" >/dev/null; then row "$name" "$("$@" 2>&1 | head -n 1)"; else row "$name" "MISSING"; missing=1; fi
}
echo "system tools"
need ffmpeg ffmpeg -version
need ffprobe ffprobe -version
need sox sox --version
need fluidsynth fluidsynth --version
if sox -h 2>/dev/null | grep -q 'AUDIO FILE FORMATS:.* mp3'; then row "sox mp3 support" "yes"; else row "sox mp3 support" "MISSING (libsox-fmt-all)"; missing=1; fi
fonts=$(ls /usr/share/sounds/sf2/*.sf2 /usr/share/soundfonts/*.sf2 2>/dev/null | tr '\n' ' ')
if [ -n "$fonts" ]; then row "GM soundfont" "$fonts"; else row "GM soundfont" "MISSING (timgm6mb-soundfont)"; missing=1; fi
for name in mscore3 mscore musescore; do
  if command -v $name >/dev/null; then row "MuseScore (optional)" "$(command -v $name)"; break; fi
done
command -v mscore3 >/dev/null || command -v mscore >/dev/null || command -v musescore >/dev/null || row "MuseScore (optional)" "absent: .mscz scores need it; MusicXML and MIDI do not"
echo "python ($python)"
if [ -x "$python" ]; then
  "$python" - <<'PY' || missing=1
import importlib.metadata as md
import sys
print(f"  {'python':28s} {sys.version.split()[0]}")
bad = 0
# Every package pyproject.toml declares, and what dreamreel uses it for.
USES = {
    "torch": "runs the frame models (BigGAN, StyleGAN, cppn) and the StyleGAN mapping",
    "pytorch-pretrained-biggan": "BigGAN-deep's network and its from_pretrained weights",
    "numpy": "every array: audio, features, latents, frames",
    "scipy": "filters and smoothing, polyphase resampling, HRIR convolution",
    "soxr": "streaming resampling of a song for the analysis, block by block",
    "librosa": "the music analysis: STFT, mel power, HPSS, chroma, onsets, beats",
    "soundfile": "reads and writes WAV and FLAC stems, buses and masters",
    "sox": "SoX tremolo and reverb on each part (pysox)",
    "pydub": "make bench: the old tool's 8D loop, run with pydub as it ran, as the pan's baseline",
    "audioop-lts": "the audioop module pydub needs, gone from Python 3.13",
    "mido": "reads MIDI scores; writes each part's MIDI for FluidSynth",
    "PyYAML": "reads params files and pan automation files",
    "matplotlib": "the preview pictures: contact sheet, feature plots, 8D pan",
    "h5py": "reads SOFA files of measured HRIRs (8D pan mode sofa)",
    "onnxruntime": "runs basic-pitch's transcription model on a song (song.transcribe)",
    "ray": "gan.executor: ray renders the segments as tasks on a Ray cluster",
    "pytest": "the test suite (make test)",
}
for name, why in USES.items():
    try:
        version = md.version(name)
    except md.PackageNotFoundError:
        if name == "audioop-lts" and sys.version_info < (3, 13):
            continue  # only Python 3.13 and later need it
        version = "MISSING"
        bad = 1
    print(f"  {name:28s} {version:12s} {why}")
# basic-pitch is installed without its dependencies (make setup) and never imported: only
# its ONNX model file is read, so it is no declared dependency but is checked here.
try:
    print(f"  {'basic-pitch (model only)':28s} {md.version('basic-pitch'):12s} the transcription model (song.transcribe: basic-pitch)")
except md.PackageNotFoundError:
    print(f"  {'basic-pitch (model only)':28s} {'MISSING':12s} song.transcribe needs it: make setup installs it")
    bad = 1
try:
    import torch
    print(f"  {'torch device':28s} {'cuda: ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu'} ({torch.get_num_threads()} threads)")
except Exception as error:  # doctor reports, it does not stop
    print(f"  {'torch import':28s} FAILED: {error}")
    bad = 1
sys.exit(bad)
PY
else
  row "virtual environment" "MISSING: run make setup"
  missing=1
fi
if [ $missing -ne 0 ]; then echo "something is missing: make setup installs it"; exit 1; fi
echo "all present"
