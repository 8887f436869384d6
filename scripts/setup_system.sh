#!/usr/bin/env bash
# Install the system tools dreamreel runs (Debian/Ubuntu): ffmpeg, sox with its format
# handlers, FluidSynth and a General MIDI soundfont. Installs with apt-get as root or
# through sudo; otherwise prints the one command to run and fails.
set -euo pipefail

packages=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || packages+=(ffmpeg)
command -v sox >/dev/null || packages+=(sox)
# libsox-fmt-all adds mp3 and friends; sox lists the formats it can read.
if ! command -v sox >/dev/null || ! sox -h 2>/dev/null | grep -q 'AUDIO FILE FORMATS:.* mp3'; then packages+=(libsox-fmt-all); fi
# --no-install-recommends: plain fluidsynth would pull Qt and a 149 MB soundfont.
command -v fluidsynth >/dev/null || packages+=(fluidsynth)
soundfont_found=no
for font in /usr/share/sounds/sf2/FluidR3_GM.sf2 /usr/share/sounds/sf2/TimGM6mb.sf2 /usr/share/sounds/sf2/default-GM.sf2 /usr/share/soundfonts/default.sf2; do
  [ -f "$font" ] && soundfont_found=yes && break
done
[ "$soundfont_found" = yes ] || packages+=(timgm6mb-soundfont)

if [ ${#packages[@]} -eq 0 ]; then
  echo "system tools: all present"
  exit 0
fi

command="apt-get install -y --no-install-recommends ${packages[*]}"
if ! command -v apt-get >/dev/null; then
  echo "dreamreel: error: missing ${packages[*]} and this is not a Debian-like system — install them with your package manager, or use environment.yml (conda env create -f environment.yml)" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo)
else
  echo "dreamreel: error: missing system tools (${packages[*]}) — run: sudo apt-get update && sudo $command" >&2
  exit 1
fi
echo "installing system tools: ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" $command -qq
