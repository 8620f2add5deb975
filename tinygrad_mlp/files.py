"""Writing files whole or not at all: :func:`write_atomic`.

Every file the package writes — a saved model, an ONNX export, a drawing, the training page —
goes through :func:`write_atomic`: the bytes go to a temporary file in the target's folder
(``.<name>.<pid>.<random>.tmp-tinygrad_mlp``), are flushed to disk and renamed over the target,
so a failed or interrupted write leaves the previous file as it was and no temporary behind,
and a reader never sees half a file.  Temporaries that a killed write to the same target left
behind are removed by the next write to it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from pathlib import Path

__all__ = ["write_atomic", "not_a_regular_file"]

TMP_SUFFIX = ".tmp-tinygrad_mlp"
_STALE_AFTER = 60.0  # seconds: an older temporary of the same target is a killed write's

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def not_a_regular_file(path: str | os.PathLike[str]) -> str | None:
    """What ``path`` is when it exists and is not a regular file (symlinks followed), in words;
    None for a regular file or a free name.

    >>> import tempfile
    >>> not_a_regular_file(tempfile.mkdtemp())
    'a directory'
    >>> not_a_regular_file(tempfile.mkdtemp() + "/new.txt") is None
    True
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:  # missing, or a dangling symlink: writing creates it
        return None
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (a ``str`` as UTF-8) to ``path`` whole or not at all.

    The bytes go to a temporary file in the same folder, are flushed to disk (``fsync``) and
    renamed over ``path``; on any failure, Ctrl-C included, the temporary is removed and the
    old file stays as it was.  An existing file keeps its permissions (a ``0600`` file stays
    private); a new one gets the usual ``0666`` less the umask.  A symlink is followed: its
    target is rewritten and the link stays.  An existing target that is not a regular file (a
    directory, a FIFO, a device) is refused.  Errors name ``path``, never the temporary.  The
    folder must exist.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> write_atomic(path, "a whole file\\n"); path.read_text()
    'a whole file\\n'
    >>> write_atomic(path.parent, b"x")
    Traceback (most recent call last):
    ...
    IsADirectoryError: [Errno 21] it is a directory, not a regular file: refusing to replace it: '...'
    """
    shown = os.fspath(path)
    blob = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    target = Path(os.path.realpath(path))  # a symlink's target, not the link
    kind = not_a_regular_file(target)
    if kind is not None:
        error = IsADirectoryError if kind == "a directory" else FileExistsError
        code = errno.EISDIR if kind == "a directory" else errno.EEXIST
        raise error(code, f"it is {kind}, not a regular file: refusing to replace it", shown)
    _remove_stale_temporaries(target)  # before writing: they may be what fills the disk
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode) & 0o777
    except OSError:
        mode = None
    tmp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}"
    done = False
    try:
        # a new file: 0666 less the umask, as any new file; an existing one's mode is set below
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666 if mode is None else 0o600)
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.chmod(tmp, mode)
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        done = True
    except OSError as e:  # the temporary's name means nothing to the caller: name the target
        if e.errno is None:
            raise OSError(f"cannot write {shown}: {e}") from None
        raise OSError(e.errno, e.strerror, shown) from None
    finally:  # any exception, KeyboardInterrupt included
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _remove_stale_temporaries(path: Path) -> None:
    """Delete temporaries of writes to ``path`` that were killed (their process is gone) or
    that are over a minute old; only names of exactly :func:`write_atomic`'s pattern for this
    path."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"([1-9][0-9]{0,9})\.[0-9a-f]{8}"
                         + re.escape(TMP_SUFFIX))
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None:
            continue
        with contextlib.suppress(OSError):
            if not entry.is_file(follow_symlinks=False):
                continue
            old = now - entry.stat(follow_symlinks=False).st_mtime > _STALE_AFTER
            if old or not _process_exists(int(match.group(1))):
                os.unlink(entry.path)


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":  # os.kill would terminate it on Windows: rely on the age alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except (OverflowError, OSError):
        return False
    return True
