#!/usr/bin/env bash
# Print the name of a piece's build folder: <source name>-<hash of where its inputs are>.
# Usage: piece_dir.sh PARAMS [SONG] [SCORE] [MIDI] [STEMS]
# The name reads as the piece (the song, the score, or the params file); the hash of the
# absolute paths keeps two params.yaml files in different folders, or one params file with
# and without SONG=, in folders of their own. MIDI= and STEMS= (a song's notes and stems)
# count only when given, so a piece without them keeps the folder it always had. Called by
# the Makefile while it is read, so it only prints: it writes nothing.
set -eu
params=$1 song=${2-} score=${3-} midi=${4-} stems=${5-}
absolute() { if [ -n "$1" ]; then realpath -m -- "$1"; fi; }
key="params=$(absolute "$params")|song=$(absolute "$song")|score=$(absolute "$score")"
if [ -n "$midi" ]; then key="$key|midi=$(absolute "$midi")"; fi
if [ -n "$stems" ]; then key="$key|stems=$(absolute "$stems")"; fi
source=${song:-${score:-$params}}
name=$(basename -- "$source")
name=${name%.*}
name=$(printf '%s' "$name" | LC_ALL=C tr -c 'A-Za-z0-9._-' '_' | cut -c1-40)
printf '%s-%s\n' "${name:-piece}" "$(printf '%s' "$key" | sha256sum | cut -c1-8)"
