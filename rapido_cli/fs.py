"""Files written and read safely, once for the whole program.

Every file that holds events, server answers or journal data is private (0600, tightened when it
already exists) and is never written through a symbolic link: a link planted at an output path
would otherwise let anyone who can write the directory truncate or append to another file.
Reads of configuration and key files accept regular files only, up to a size cap, so that
``/dev/zero``, a FIFO or a huge file cannot hang or exhaust the program.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal

from rapido_cli.errors import LocalIOError, UsageError

PRIVATE = 0o600
#: Default cap for configuration, key, map and single-event files.
MAX_CONFIG_BYTES = 1 << 20


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link (refused: output is never written through a link)"
    return exc.strerror or str(exc)


def open_private(
    path: str | os.PathLike[str], mode: Literal["w", "a", "x"] = "w", *, binary: bool = False
) -> IO[bytes] | IO[str]:
    """Open ``path`` for writing as a private file: 0600, no symlink followed, regular files only.

    ``w`` truncates, ``a`` appends, ``x`` fails if it exists. An existing file is tightened to 0600.
    Raises :class:`LocalIOError` (exit 74) naming the path when it cannot be opened safely.
    """
    p = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | os.O_NONBLOCK
    if mode == "a":
        flags |= os.O_APPEND
    elif mode == "x":
        flags |= os.O_EXCL
    try:
        fd = os.open(p, flags, PRIVATE)
    except OSError as exc:
        raise LocalIOError(f"{p}: cannot write: {_why(exc)}", hint="choose another path") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LocalIOError(f"{p}: not a regular file", hint="give the path of a file, not a device or pipe")
        if stat.S_IMODE(st.st_mode) != PRIVATE:
            os.fchmod(fd, PRIVATE)
        if mode == "w":
            os.ftruncate(fd, 0)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    if binary:
        return os.fdopen(fd, mode.replace("x", "w") + "b")
    return os.fdopen(fd, mode.replace("x", "w"), encoding="utf-8", newline="")


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str], *, binary: bool = False, mode: int = PRIVATE
) -> Iterator[IO[str] | IO[bytes]]:
    """A file that replaces ``path`` only when the block ends without an exception.

    Written to a private temporary file in the same directory, flushed to disk, then renamed over
    ``path`` (a symbolic link at ``path`` is replaced, never followed).
    """
    p = Path(path)
    directory = p.parent if str(p.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"{p}: the directory {directory} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise LocalIOError(f"{p}: cannot write: {_why(exc)}") from None
    try:
        os.fchmod(fd, mode)
        fh = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise LocalIOError(f"{p}: cannot write: {_why(exc)}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike[str], data: str | bytes, *, mode: int = PRIVATE) -> None:
    """Replace ``path`` with ``data`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, binary=isinstance(data, bytes), mode=mode) as fh:
        fh.write(data)  # type: ignore[arg-type]


def read_limited(path: str | os.PathLike[str], *, limit: int = MAX_CONFIG_BYTES, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    A FIFO, a device (``/dev/zero``), a directory or a larger file is refused with a
    :class:`UsageError` naming the path; opening never blocks (``O_NONBLOCK``).
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UsageError(f"{p}: no such {what}") from None
    except OSError as exc:
        raise UsageError(f"{p}: cannot read {what}: {exc.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        # Checked before fdopen, which refuses a directory with its own IsADirectoryError.
        os.close(fd)
        raise UsageError(f"{p}: not a regular file", hint=f"the {what} must be a plain file")
    with os.fdopen(fd, "rb") as fh:
        if st.st_size > limit:
            raise UsageError(f"{p}: {what} too large ({st.st_size:,} bytes; the limit is {limit:,})")
        os.set_blocking(fd, True)
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UsageError(f"{p}: {what} too large (over {limit:,} bytes)")
    return data
