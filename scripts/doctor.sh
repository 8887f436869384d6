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
for name in ["torch", "pytorch-pretrained-biggan", "numpy", "scipy", "librosa", "soundfile", "sox", "pydub", "ffmpeg-python", "mido", "PyYAML", "matplotlib", "h5py", "pytest"]:
    try:
        print(f"  {name:28s} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"  {name:28s} MISSING")
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
