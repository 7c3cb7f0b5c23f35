"""Reading the registry's files: only regular files, opened so that nothing there can block the reader,
and named relative to the registry in what a client may see.

A FIFO where CURRENT should be blocked the registry poller for good (issue 30): a plain `open()` of a
FIFO waits for a writer. Here a file is opened with O_NONBLOCK and checked with `fstat` on that same
descriptor before anything is read, so a FIFO, socket, device or directory is refused at once and no
rename between a check and the open can slip one in.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a directory",
    stat.S_IFLNK: "a symbolic link",
}


class NotRegularFile(OSError):
    """A FIFO, socket, device, directory (or, where refused, a symbolic link) where a file should be."""


def not_regular(path: Path, mode: int) -> NotRegularFile:
    """The error a non-regular file gets: its strerror says what the file is."""
    what = KINDS.get(stat.S_IFMT(mode), "not a file")
    return NotRegularFile(errno.EINVAL, f"not a regular file: {what}", str(path))


def lstat_mode(path: Path) -> int | None:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return None


@contextlib.contextmanager
def open_regular(path: str | Path, follow_symlinks: bool = True) -> Iterator[BinaryIO]:
    """`path` opened for binary reading if it is a regular file; OSError (its strerror saying why) otherwise.

    `follow_symlinks=False` refuses a symbolic link as well (O_NOFOLLOW, checked on the link itself).
    """
    path = Path(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        # A socket cannot be opened at all (ENXIO) and O_NOFOLLOW fails on a link (ELOOP): say what is there.
        mode = lstat_mode(path) if exc.errno in (errno.ENXIO, errno.ELOOP) else None
        if mode is not None:
            raise not_regular(path, mode) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise not_regular(path, mode)
        handle = os.fdopen(fd, "rb")  # owns fd from here: closing the handle closes it
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def read_regular(path: str | Path, follow_symlinks: bool = True) -> bytes:
    """The bytes of `path`, a regular file; OSError, its strerror saying why, for anything else (see open_regular)."""
    with open_regular(path, follow_symlinks) as handle:
        return handle.read()


def shown(path: str | Path, root: str | Path | None) -> str:
    """`path` as a message shows it: relative to the registry `root` when given and inside it, else in full.

    Messages a client may read (model status, 503s, /readyz) name files relative to PAXCAST_MODEL_DIR,
    never by the server's absolute path; the CLI passes no root and its operator sees the full path.
    """
    if root is None:
        return str(path)
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return Path(path).name  # outside the registry (not expected): still never the absolute path
