"""Files opened and written safely.

Reading never hangs on a named pipe and refuses folders; writing is atomic:
the data go to a temporary file in the target folder, which then replaces
the target (``overwrite=True``) or is linked to its name without replacing
anything (``overwrite=False``), so a failed write never leaves a partial
file behind and never damages an existing one, and a file that appears
meanwhile is kept.
"""

import contextlib
import errno
import os
import stat


def _open_for_reading(path):
    """Open ``path`` in binary mode without hanging on a named pipe.

    Opening a FIFO that no process writes to blocks forever; opening it
    non-blocking and then switching back to blocking reads gives end of file
    at once instead, while a pipe that has a writer reads as usual.
    """
    nonblock = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | nonblock)
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_temporary(folder, base):
    """Create a new file next to the target; the umask applies as for open()."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        # base[:200]: stay below the usual 255-byte limit on file names.
        tmp = os.path.join(folder, f".{base[:200]}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        return tmp, os.fdopen(fd, "wb")
    raise FileExistsError(f"cannot create a temporary file in {folder!r}.")


def _about_target(exc, path):
    """The same OSError, naming ``path`` (not the temporary file) when it has
    an errno; other exceptions are returned unchanged."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), path)
    return exc


def _exists_error(path):
    return FileExistsError(f"{path!r} already exists and overwrite=False.")


def _atomic_write(path, write, *, overwrite):
    """Write ``path`` through ``write(fp)`` via a temporary file and a rename.

    The temporary file is removed on any failure, so the target is either the
    old file untouched or the complete new file. Without ``overwrite`` the
    final step creates ``path`` without replacing anything (a hard link), so a
    file that appears while the data are written is kept. Errors of the file
    system (read-only folder, full disk) name ``path``, not the temporary file.
    """
    if not overwrite and os.path.lexists(path):
        raise _exists_error(path)
    folder, base = os.path.split(os.path.abspath(path))
    try:
        tmp, fp = _open_temporary(folder, base)
    except OSError as exc:
        raise _about_target(exc, path) from None
    try:
        with fp:
            write(fp)
            fp.flush()
            os.fsync(fp.fileno())
        if overwrite:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
            os.replace(tmp, path)
            return
        try:
            # A hard link refuses to replace a file that appeared meanwhile.
            os.link(tmp, path)
        except FileExistsError:
            raise _exists_error(path) from None
        except OSError:
            # No hard links here: O_EXCL on the final name keeps the promise.
            _copy_exclusive(tmp, path)
    except OSError as exc:
        named = _about_target(exc, path)
        if named is exc or exc.filename == path:
            raise
        raise named from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _copy_exclusive(tmp, path):
    """Copy ``tmp`` to a new file ``path`` that must not exist yet."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except FileExistsError:
        raise _exists_error(path) from None
    try:
        with os.fdopen(fd, "wb") as out, open(tmp, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
