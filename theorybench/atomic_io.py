"""Atomic file writes: a file this package writes is either its old complete version or its new one.

Every writer goes through :func:`atomic_path`: the content is written to a temporary file in the
destination's folder (a hidden name ``.<stem>.tmp-<pid>-<random><ext>``: same file system, and the same
extension, so that matplotlib and pandas infer the format and compression from it), flushed to disk,
and renamed over the destination with ``os.replace`` (atomic on POSIX and Windows). A writer that
raises, or is stopped by Ctrl-C, removes its temporary file and leaves the destination untouched. A
process killed outright (SIGKILL, power loss) can leave only a hidden ``.<stem>.tmp-<pid>-*`` file
beside an intact destination, never a truncated destination; the next write of the same destination
removes such leftovers once their writer is gone.

A destination that exists and is not a regular file (``/dev/stdout``, a named pipe) is written in
place: it cannot be replaced, and a stream is not a stored result."""
import contextlib
import glob
import os
import secrets
import stat
import time

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "atomic_savefig", "atomic_to_csv"]


def _target(path):
    path = os.fspath(path)
    if os.path.islink(path):  # replace what the link points at, not the link
        path = os.path.realpath(path)
    return path


def _fsync(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_STALE_S = 60.0  # a leftover untouched this long, of a writer that is gone, is removed


def _remove_leftovers(folder, stem, ext):
    """Temporary files of killed writers of the same destination: removed when their process (the pid in
    the name) no longer runs here and they have not changed for ``_STALE_S`` s (a day where a pid cannot
    be checked)."""
    now = time.time()
    prefix = f".{stem}.tmp-"
    for tmp in glob.glob(os.path.join(glob.escape(folder), glob.escape(prefix) + "*" + glob.escape(ext))):
        try:
            age = now - os.stat(tmp).st_mtime
            pid = int(os.path.basename(tmp)[len(prefix):].split("-")[0])
        except (OSError, ValueError):
            continue
        if os.name == "posix":
            if age < _STALE_S or pid == os.getpid():
                continue
            try:
                os.kill(pid, 0)  # signal 0: only asks whether the process exists
                continue
            except ProcessLookupError:
                pass
            except OSError:  # another user's live process
                continue
        elif age < 86400.0:
            continue
        with contextlib.suppress(OSError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_path(path, fsync=True):
    """Yield a temporary path beside ``path``; on a normal exit rename it to ``path``, on an exception
    (KeyboardInterrupt included) remove it and leave ``path`` as it was.

    The temporary file exists (empty, with the permissions a new file gets) when the body starts; the
    body writes it with any library (``fig.savefig(tmp)``, ``df.to_csv(tmp)``, ``np.save``...).
    fsync: flush the new content to disk before the rename (so a power loss too leaves old or new)."""
    path = _target(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        yield path  # a device or a pipe: nothing to replace
        return
    folder, name = os.path.split(os.path.abspath(path))
    stem, ext = os.path.splitext(name)
    _remove_leftovers(folder, stem, ext)
    while True:
        tmp = os.path.join(folder, f".{stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}{ext}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
        except FileExistsError:
            continue
        os.close(fd)
        break
    try:
        yield tmp
        if fsync:
            _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path, data):
    """Write ``data`` (bytes) to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def atomic_write_text(path, text, encoding="utf-8"):
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding=encoding) as fh:
        fh.write(text)


def atomic_savefig(fig, path, **kwargs):
    """``fig.savefig(path, **kwargs)`` atomically (the format is taken from ``path``'s extension unless
    ``format`` is given)."""
    if "format" not in kwargs:
        ext = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
        if ext:
            kwargs["format"] = ext
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **kwargs)


def atomic_to_csv(df, path, **kwargs):
    """``df.to_csv(path, **kwargs)`` atomically (a killed writer never leaves a shorter CSV that reads
    without error)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, **kwargs)
