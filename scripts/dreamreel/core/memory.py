"""Keep a streaming stage's memory flat: large temporary buffers go straight back to the OS.

glibc's malloc serves a request above its mmap threshold (128 KiB at first) with a mapping
of its own, which ``free`` returns to the system. But each time such a buffer is freed, the
threshold rises to that buffer's size (up to 32 MiB), so from then on the per-block
temporaries of a streaming stage (the STFT, HPSS and CQT of one block: 2 to 20 MB each)
come from the heap instead. The few small arrays that live from one block to the next then
pin heap pages, and the process grows a little with every block (analyze: 2.4 MB a minute
of song) although nothing it holds does. Fixing the threshold keeps every large buffer in
a mapping of its own, returned whole when it is freed.
"""

from __future__ import annotations

import ctypes
import sys

MMAP_THRESHOLD_BYTES = 1 << 20  # a block's temporaries are all larger; most small arrays are far smaller
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h


def keep_large_buffers_out_of_the_heap(threshold_bytes: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc malloc's mmap threshold at ``threshold_bytes`` for this process.

    Returns True when it was set; False where the C library is not glibc (macOS, musl),
    where memory then behaves as before: correct, only less flat.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return mallopt(_M_MMAP_THRESHOLD, int(threshold_bytes)) == 1
