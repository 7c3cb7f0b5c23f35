"""The C heap of a serving process: large buffers go back to the system when freed, and freed pages after a
large request.

A 5,500-series hourly request (7.5 MB in), posted back to back, took a worker from 126 MB to 410 MB, and
it held 297 MB thirty seconds after the last one although Python had freed everything (issue 30). Two glibc
behaviours held it:

- glibc's mmap threshold is dynamic: after a large mmapped block is freed, the threshold rises (up to 32 MB),
  so the next request's arrays and response bytes come from the arenas, where a few live small objects pin
  the pages around them. A fixed threshold keeps every block over LARGE_BLOCK_BYTES mmapped and unmapped
  on free.
- freed small blocks stay in the arenas' free lists; `malloc_trim` hands their pages back
  (`limits.BodySizeLimit` calls it after each large body).

Measured with one worker and a client posting that request back to back for 30 s (load 0.7-0.9):
glibc's defaults peaked at 410 MB and held 297 MB 30 s later; with the threshold fixed at 4 MB, 363 MB
and 220 MB, at the same 1.9 requests/s. At 256 KB and 1 MB the peak was no lower and requests/s fell to
1.2-1.3 (every medium array a fresh, zeroed mapping). Not glibc (musl, macOS): both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# Blocks at least this large are mmapped and unmapped on free: a large request's rows, calendar slices
# and response bytes; smaller blocks stay in the arenas, where reusing them is cheaper than a new mapping.
LARGE_BLOCK_BYTES = 4 * 1024 * 1024
M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h


def _libc():
    path = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(path) if path else None
        return libc if libc is not None and hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


libc = _libc()


def malloc_trim() -> None:
    """Give the arenas' free pages back to the system (a few milliseconds on a large heap: call it off the loop)."""
    if libc is not None:
        libc.malloc_trim(0)


def unmap_large_blocks() -> bool:
    """Fix glibc's mmap threshold at LARGE_BLOCK_BYTES for this process; True if it was set."""
    return libc is not None and libc.mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES) == 1
