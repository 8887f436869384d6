#!/usr/bin/env bash
# Take the build lock of one piece for one make process; print the holder's process id
# when another live make holds it (and print nothing when the lock is ours).
# Usage: build_lock.sh LOCK MAKE_PID   (LOCK: build/.locks/<piece folder>)
# The lock is a symbolic link whose target is the process id: creating a link is atomic,
# and a lock whose process is gone (a killed build) is simply taken over. Make re-reads
# its makefiles in the same process after remaking them, so the same id means "ours".
set -u
lock=$1 pid=$2

mkdir -p -- "$(dirname -- "$lock")"
for attempt in 1 2 3; do
  ln -s -- "$pid" "$lock" 2>/dev/null && exit 0
  holder=$(readlink -- "$lock" 2>/dev/null) || continue
  [ "$holder" = "$pid" ] && exit 0
  if [ -r "/proc/$holder/cmdline" ] && tr '\0' ' ' < "/proc/$holder/cmdline" | grep -q make; then
    printf '%s\n' "$holder"
    exit 0
  fi
  # The holder is gone: take the lock over, atomically, and check that it is ours.
  ln -s -- "$pid" "$lock.$pid" 2>/dev/null && mv -T -- "$lock.$pid" "$lock"
  [ "$(readlink -- "$lock" 2>/dev/null)" = "$pid" ] && exit 0
done
exit 0
