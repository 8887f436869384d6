"""The mmap threshold: after a large buffer is freed, the next large one still gets its own mapping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Run in a fresh interpreter, so the test process's own malloc state does not matter.
# mallinfo2().hblkhd is the bytes malloc holds in mappings of their own (glibc >= 2.33).
PROBE = """
import ctypes, sys
import numpy as np
from dreamreel.core.memory import keep_large_buffers_out_of_the_heap

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "fixed":
    assert keep_large_buffers_out_of_the_heap()
big = np.ones(16 << 20, dtype=np.uint8)
del big  # glibc would now raise its threshold to 16 MB
before = libc.mallinfo2().hblkhd
block = np.ones(4 << 20, dtype=np.uint8)
print(libc.mallinfo2().hblkhd - before)
"""


def mapped_bytes_of_a_4mb_block(mode: str) -> int:
    import os

    import dreamreel

    env = {**os.environ, "PYTHONPATH": str(Path(dreamreel.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, env=env)
    return int(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_a_large_block_after_a_larger_one_is_freed_is_still_its_own_mapping():
    # Without the fix, glibc serves the 4 MB block from the heap (nothing newly mapped):
    # that is how a streaming stage's heap grows with the song.
    assert mapped_bytes_of_a_4mb_block("default") < 1 << 20
    assert mapped_bytes_of_a_4mb_block("fixed") >= 4 << 20
