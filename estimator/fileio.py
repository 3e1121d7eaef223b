"""Files: one safe reader for every file a user (or a stranger) hands us, and atomic writes.

Reading (:func:`read_user_bytes`, :func:`read_user_text`): a scenario, law, hardware profile
or runs CSV may come from someone else, so only a *regular* file of bounded size is read. A
device (``/dev/zero``, ``/dev/urandom``), a named pipe (it would block forever), a socket or a
directory is refused before a byte is read, and a file over the size cap is refused from its
``fstat`` size (and the read itself stops at the cap, should the file grow). Errors name the
file and what it is, never its content.

Relative paths inside a file resolve against that file's folder (:func:`resolve_ref`), so a
scenario and the law file beside it give the same estimate from any working directory.

Writing (:func:`atomic_write_bytes`, :func:`atomic_write_text`): readers see either the old file
or the new one, never half of either; a symlink is written through to its target (as editors
do), and a read-only file is refused (:class:`ReadOnlyFileError`) unless the caller confirms.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from estimator.textsafe import excerpt

#: Size caps (bytes). The largest built-in law (with its bootstrap samples) is 13 KB and a
#: profile 4 KB; a fitted law with 10,000 bootstrap samples is about 1 MB.
MAX_SCENARIO_BYTES = 256 * 1024
MAX_PROFILE_BYTES = 256 * 1024
MAX_LAW_BYTES = 2 * 1024 * 1024
MAX_CSV_BYTES = 32 * 1024 * 1024
#: At most this many files are read from one user folder (a folder of 100,000 files must not
#: stall start-up); the rest are reported.
MAX_FOLDER_FILES = 1000

_KIND = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class UnsafeFileError(OSError):
    """A path that is not a regular file of acceptable size (``reason`` says why, in words)."""

    def __init__(self, path: str | Path, reason: str, errno_: int = errno.EINVAL):
        super().__init__(errno_, reason, str(path))
        self.reason = reason


class ReadOnlyFileError(PermissionError):
    """The target of a save is a read-only file; saving over it needs the user's say-so
    (``overwrite_readonly=True``)."""

    def __init__(self, path: str | Path):
        super().__init__(errno.EACCES, "the file is read-only", str(path))


def describe_kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    for test, words in _KIND:
        if test(mode):
            return words
    return None if stat.S_ISREG(mode) else "not a regular file"


def read_user_bytes(path: str | Path, *, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``max_bytes``.

    Never blocks: the file is opened non-blocking (a FIFO opens at once instead of waiting for a
    writer) and checked with ``fstat`` on the open descriptor before reading, so a device, a
    pipe, a socket or a folder is refused (also behind a symlink), and so is a file larger than
    the cap. Raises :class:`FileNotFoundError`, :class:`PermissionError`,
    :class:`UnsafeFileError` (``.reason``) or another :class:`OSError`; callers turn them into
    their own error type with :func:`read_problem`."""
    p = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        # a pre-check by path keeps Windows (no O_NONBLOCK) from opening a pipe
        pre = os.stat(p)
    except ValueError:  # a NUL in the name
        raise UnsafeFileError(p, "the name contains a NUL character") from None
    kind = describe_kind(pre.st_mode)
    if kind is not None:
        raise UnsafeFileError(p, f"is {kind}, not a regular file",
                              errno.EISDIR if stat.S_ISDIR(pre.st_mode) else errno.EINVAL)
    fd = os.open(p, flags)
    try:
        st = os.fstat(fd)
        kind = describe_kind(st.st_mode)
        if kind is not None:  # swapped between the stat and the open
            raise UnsafeFileError(p, f"is {kind}, not a regular file")
        if st.st_size > max_bytes:
            raise UnsafeFileError(p, f"is too large ({_size(st.st_size)}; at most "
                                     f"{_size(max_bytes)} for a {what})", errno.EFBIG)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:  # it grew while being read
            raise UnsafeFileError(p, f"is too large (more than {_size(max_bytes)} for a "
                                     f"{what})", errno.EFBIG)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_user_text(path: str | Path, *, max_bytes: int, what: str = "file") -> str:
    """:func:`read_user_bytes` decoded as UTF-8 (a BOM is dropped). Raises
    :class:`UnicodeDecodeError` for other encodings besides the errors of the byte reader."""
    return read_user_bytes(path, max_bytes=max_bytes, what=what).decode("utf-8-sig")


def read_problem(exc: BaseException, what: str = "file") -> str:
    """Why a read failed, in words for an error message (no file content, no byte values
    beyond the offset)."""
    if isinstance(exc, UnsafeFileError):
        return exc.reason
    if isinstance(exc, FileNotFoundError):
        return "not found; check the path"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "cannot be read (permission denied)"
    if isinstance(exc, UnicodeDecodeError):
        return f"is not UTF-8 text (byte {exc.start}); is it a {what}?"
    if isinstance(exc, OSError):
        return f"cannot be read ({exc.strerror or exc.__class__.__name__})"
    return f"cannot be read ({exc.__class__.__name__})"


def list_user_folder(folder: str | Path, what: str = "user folder",
                     suffixes: tuple[str, ...] = (".yaml", ".yml"),
                     limit: int = MAX_FOLDER_FILES) -> tuple[list[Path], list[str]]:
    """The files of a user folder to load (name order; hidden files and other suffixes
    skipped), and a message for every problem: a folder that cannot be read (or whose parent
    cannot), a path that is not a folder, more than ``limit`` candidates. A missing folder is no
    problem. Never raises :class:`OSError`; entries are not opened here (the reader refuses
    pipes and devices)."""
    folder = Path(folder)
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        return [], []
    except (OSError, ValueError) as exc:
        return [], [f"{folder}: cannot read the {what} ({_why(exc)}); using the built-in "
                    "ones only"]
    if not stat.S_ISDIR(st.st_mode):
        return [], [f"{folder}: the {what} is not a directory; using the built-in ones only"]
    try:
        with os.scandir(folder) as it:
            names = sorted(e.name for e in it
                           if e.name.lower().endswith(suffixes) and not e.name.startswith("."))
    except OSError as exc:
        return [], [f"{folder}: cannot list the {what} ({_why(exc)}); using the built-in "
                    "ones only"]
    problems = []
    if len(names) > limit:
        problems.append(f"{folder}: the {what} holds {len(names):,} files; only the first "
                        f"{limit:,} (by name) were read")
        names = names[:limit]
    return [folder / n for n in names], problems


def _why(exc: BaseException) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return exc.__class__.__name__


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


# --------------------------------------------------------------------------------------
# Paths inside files
# --------------------------------------------------------------------------------------


def is_path_ref(ref: str) -> bool:
    """Whether a law or hardware reference names a file rather than an id: it ends in
    ``.yaml``/``.yml`` or contains a path separator (ids are plain names such as
    ``h100-sxm``)."""
    r = str(ref).strip()
    return (r.lower().endswith((".yaml", ".yml")) or "/" in r or os.sep in r
            or (os.altsep is not None and os.altsep in r) or r.startswith("~"))


def resolve_ref(ref: str, base_dir: str | Path | None) -> str:
    """A file reference read from a file in ``base_dir``, as an absolute path: a relative path
    resolves against ``base_dir`` (the referring file's folder), never the working directory;
    an id is returned as it is."""
    r = str(ref).strip()
    if not is_path_ref(r):
        return ref
    p = Path(r).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    return os.path.normpath(os.path.abspath(p))


def relative_ref(ref: str, base_dir: str | Path) -> str:
    """A file reference to write into a file saved in ``base_dir``: relative to that folder when
    the referenced file lies inside it (so the two travel together), else absolute."""
    r = str(ref).strip()
    if not is_path_ref(r):
        return ref
    target = os.path.normpath(os.path.abspath(os.path.expanduser(r)))
    base = os.path.normpath(os.path.abspath(base_dir))
    try:
        common = os.path.commonpath([target, base])
    except ValueError:  # other drive (Windows)
        return target
    if common != base:
        return target
    rel = os.path.relpath(target, base)
    return rel.replace(os.sep, "/") if os.sep != "/" else rel


# --------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------


def with_suffix(path: str, ext: str) -> str:
    """``path`` ending in ``.ext`` (added when a save dialog's answer lacks it; any case of
    it counts as present)."""
    return path if path.lower().endswith("." + ext.lower()) else f"{path}.{ext}"


def write_target(path: str | Path) -> Path:
    """The file a save to ``path`` really writes: a symlink's (final) target, else ``path``."""
    p = Path(path)
    if p.is_symlink():
        return Path(os.path.realpath(p))
    return p


def is_read_only(path: str | Path) -> bool:
    """True when ``path`` is an existing file marked read-only (no write permission bit, or not
    writable by this user). Root ignores permissions; the bits still say the owner meant it."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    return not (st.st_mode & 0o222) or not os.access(path, os.W_OK)


def atomic_write_bytes(path: str | Path, data: bytes, *, overwrite_readonly: bool = False,
                       follow_symlinks: bool = True) -> Path:
    """Write ``data`` to ``path`` so that readers see either the old file or the new one.

    Writes a temporary file in the same directory, fsyncs it, then ``os.replace``s it over the
    target (atomic on POSIX and Windows). On any failure the temporary file is removed and the
    previous file is left untouched. A symlink is written through: its target gets the new
    bytes and the link stays a link. An existing read-only file raises
    :class:`ReadOnlyFileError` unless ``overwrite_readonly`` (then it stays read-only). Returns
    the path written."""
    target = write_target(path) if follow_symlinks else Path(path)
    if not overwrite_readonly and is_read_only(target):
        raise ReadOnlyFileError(target)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder", str(target))
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600; keep the old file's mode, or give a new file the usual
        # 0666 & ~umask so a saved scenario or report is as readable as any other file.
        try:
            if target.exists():
                mode = target.stat().st_mode & 0o7777
            else:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.chmod(tmp_name, mode)
        except OSError:
            pass
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    try:  # persist the rename itself
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return target


def atomic_write_text(path: str | Path, text: str, *, overwrite_readonly: bool = False) -> Path:
    """:func:`atomic_write_bytes` of ``text`` as UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"), overwrite_readonly=overwrite_readonly)


def save_problem(exc: OSError) -> str:
    """Why a save failed, in words, with the fix."""
    if isinstance(exc, ReadOnlyFileError):
        return "the file is read-only; make it writable or choose another name"
    if isinstance(exc, IsADirectoryError):
        return "that is a folder; choose a file name"
    if isinstance(exc, FileNotFoundError):
        return "the folder does not exist; choose another folder"
    if isinstance(exc, PermissionError):
        return "permission denied; choose another folder"
    if getattr(exc, "errno", None) == errno.ENOSPC:
        return "the disk is full; free some disk space or choose another folder"
    return (f"{excerpt(exc.strerror or exc, 60)}; choose another folder or free some disk "
            "space")
