"""Where and how the kernels' machine code is cached on disk.

Numba's own ``cache=True`` fails in the field in three ways, each handled here:

* **No writable place.**  Numba tries ``$NUMBA_CACHE_DIR``, the package's
  ``__pycache__`` and ``~/.cache/numba``; if none is writable (a read-only
  install run by a user without a writable home) the *decorator* raises
  ``RuntimeError: cannot cache function ...: no locator available``, so
  ``import fastnn`` fails.  ``cache_dir`` picks, once per process, the first
  usable of: ``$NUMBA_CACHE_DIR`` (numba's layout), the kernels'
  ``__pycache__``, ``$XDG_CACHE_HOME/fastnn/numba`` (or ``~/.cache/...``), a
  private ``fastnn-<uid>`` directory in the temporary directory, and else no
  cache at all (with a warning: every process then compiles).
* **Corrupted files.**  A truncated, garbage or bit-flipped ``.nbi``/``.nbc``
  makes Numba raise (``UnpicklingError``, LLVM errors) on every later run, or,
  worse, a flipped bit inside the object code loads silently.  ``KernelCache``
  writes each file with a SHA-256 of its contents, treats any file that does
  not verify (or any load that fails) as a cache miss, deletes it and lets
  Numba recompile and write it again.  This is a subclass of Numba's
  ``FunctionCache`` set on the dispatcher (what ``enable_caching`` does), not
  a patch of Numba: only fastnn's kernels use it.
* **Stale code across files.**  Numba checks a cached function only against
  its own source file, so editing a helper in ``vmath.py`` left callers in
  ``losses.py`` running the old machine code.  On import, ``cache_dir``
  compares a hash of every ``kernels/*.py`` and of the Python, NumPy, Numba
  and llvmlite versions with a stamp file in the cache directory, and on a
  difference deletes the kernels' cache files (0.2 ms when nothing changed).
  A process still running older sources then stays out of the cache.
"""
import hashlib
import os
import pickle
import stat
import sys
import tempfile
import warnings

import llvmlite
import numba
import numpy
from numba.core import config
from numba.core.caching import (CompileResultCacheImpl, FunctionCache, IndexDataCacheFile,
                                _cache_log, _CacheLocator, _SourceFileBackedLocatorMixin)
from numba.core.serialize import dumps

KERNELS_DIR = os.path.dirname(os.path.abspath(__file__))
# the part of Numba's cache file names that says which Python wrote them
_PY_TAG = ".py%d%d%s." % (sys.version_info[0], sys.version_info[1], getattr(sys, "abiflags", ""))
_STAMP_NAME = "fastnn-kernels%sstamp" % _PY_TAG
# first bytes of every file KernelCache writes: Numba's own (unchecked) files,
# e.g. from an older fastnn, fail this test and are recompiled
_MAGIC = b"fastnn-cache-1\n"
_DIGEST = 32  # bytes of SHA-256

_UNSET = object()
_chosen = _UNSET  # the directory cache_dir() chose, or None for no cache
_stamp = None  # content_stamp() of the sources this process imported


def cache_dir():
    """The directory of the kernels' cache for this process, or None if there is none.

    Chosen on the first call (the first kernel defined at import) and kept:
    setting ``numba.config.CACHE_DIR`` or ``NUMBA_CACHE_DIR`` after importing
    fastnn does not move it."""
    global _chosen, _stamp
    if _chosen is _UNSET:
        _chosen = _choose()
        if _chosen is not None:
            _stamp = content_stamp()
            _drop_if_stale(_chosen, _stamp)
    return _chosen


def _candidates():
    """(what, directory) in order of preference; None where a place does not apply."""
    # one subdirectory per kernels directory, as Numba names it under
    # NUMBA_CACHE_DIR: two installs of fastnn never share (and thrash) a cache
    sub = _CacheLocator.get_suitable_cache_subpath(os.path.join(KERNELS_DIR, "_jit.py"))
    # config.CACHE_DIR is NUMBA_CACHE_DIR as Numba read it (or as a program set it)
    yield "NUMBA_CACHE_DIR", os.path.join(config.CACHE_DIR, sub) if config.CACHE_DIR else None
    yield "the package's __pycache__", os.path.join(KERNELS_DIR, "__pycache__")
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    yield "the user cache", os.path.join(base, "fastnn", "numba", sub)
    private = _private_temp_dir()
    yield "the temporary directory", os.path.join(private, sub) if private else None


def _choose():
    tried = []
    for what, path in _candidates():
        if path is None:
            continue
        if _writable(path):
            return path
        tried.append(f"{what} ({path})")
    warnings.warn("fastnn: no writable directory for the compiled kernels' cache (tried "
                  + ", ".join(tried) + "); every process will compile the kernels it uses "
                  "(seconds per kernel). Set NUMBA_CACHE_DIR to a writable directory.",
                  RuntimeWarning, stacklevel=2)
    return None


def _writable(path):
    """Create ``path`` if needed and write a file there, as Numba checks (``os.access``
    answers from permission bits, which some network file systems do not honour)."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def _private_temp_dir():
    """``<tmp>/fastnn-<uid>``, created mode 0700, or None if it exists but is not
    ours alone: the cache holds machine code that is loaded and run, so a
    directory another user could write to must never be used."""
    try:
        uid = os.getuid()
    except AttributeError:  # Windows: the temporary directory is per user already
        return os.path.join(tempfile.gettempdir(), "fastnn")
    path = os.path.join(tempfile.gettempdir(), f"fastnn-{uid}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o077:
        return None
    return path


# ----------------------------------------------------------- stale entries

def content_stamp():
    """A hash of every kernel source file and of the versions their machine code depends on."""
    h = hashlib.sha256()
    for v in (sys.version, numpy.__version__, numba.__version__, llvmlite.__version__):
        h.update(v.encode() + b"\0")
    for name in sorted(os.listdir(KERNELS_DIR)):
        if name.endswith(".py"):
            with open(os.path.join(KERNELS_DIR, name), "rb") as f:
                h.update(name.encode() + b"\0" + f.read() + b"\0")
    return h.hexdigest()


def _read_stamp(path):
    try:
        with open(os.path.join(path, _STAMP_NAME)) as f:
            return f.read()
    except (OSError, ValueError):
        return None


def _drop_if_stale(path, stamp):
    """Delete this Python's kernel cache files in ``path`` unless its stamp is ``stamp``."""
    if _read_stamp(path) == stamp:
        return
    stamp_path = os.path.join(path, _STAMP_NAME)
    modules = {n[:-3] for n in os.listdir(KERNELS_DIR) if n.endswith(".py")}
    # Numba's names: <module>.<function>-<line>.py311.nbi and ....py311.<n>.nbc
    stale = [name for name in os.listdir(path) if name.endswith((".nbi", ".nbc"))
             and _PY_TAG in name and name.split(".", 1)[0] in modules]
    for name in stale:
        _unlink(os.path.join(path, name))
    if stale:
        _cache_log("[fastnn] kernel sources or versions changed: dropped %d files in %r",
                   len(stale), path)
    try:
        tmp = f"{stamp_path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(stamp)
        os.replace(tmp, stamp_path)
    except OSError:
        pass  # checked again by the next process


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


# ---------------------------------------------------------- the cache class

class _Locator(_SourceFileBackedLocatorMixin, _CacheLocator):
    """Every kernel's files in the directory cache_dir() chose (checked once, not per
    kernel); the source stamp and disambiguator are Numba's."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno

    def get_cache_path(self):
        return _chosen

    @classmethod
    def from_function(cls, py_func, py_file):
        return cls(py_func, py_file)


class _Impl(CompileResultCacheImpl):
    _locator_classes = [_Locator]


class _CheckedFile(IndexDataCacheFile):
    """Numba's index and data files, each written as MAGIC + SHA-256 + pickle and
    read only if the digest matches; an unreadable file is deleted and reads as empty."""

    def _dump(self, obj):
        payload = dumps(obj)
        return _MAGIC + hashlib.sha256(payload).digest() + payload

    @staticmethod
    def _read_checked(path):
        with open(path, "rb") as f:
            blob = f.read()
        n = len(_MAGIC)
        payload = blob[n + _DIGEST:]
        if blob[:n] != _MAGIC or hashlib.sha256(payload).digest() != blob[n:n + _DIGEST]:
            raise ValueError(f"{path}: checksum mismatch (truncated, corrupted, or not "
                             "written by fastnn)")
        return pickle.loads(payload)

    def _load_index(self):
        try:
            version, source_stamp, overloads = self._read_checked(self._index_path)
        except FileNotFoundError:
            return {}
        except Exception as e:  # noqa: BLE001 -- any unreadable index is a miss
            _cache_log("[fastnn] dropping unreadable index %r: %s", self._index_path, e)
            _unlink(self._index_path)
            return {}
        _cache_log("[cache] index loaded from %r", self._index_path)
        if version != self._version or source_stamp != self._source_stamp:
            return {}  # entries overwritten as they are recompiled, as in Numba
        return overloads

    def _save_index(self, overloads):
        data = self._dump((self._version, self._source_stamp, overloads))
        with self._open_for_write(self._index_path) as f:
            f.write(data)
        _cache_log("[cache] index saved to %r", self._index_path)

    def _load_data(self, name):
        data = self._read_checked(self._data_path(name))
        _cache_log("[cache] data loaded from %r", self._data_path(name))
        return data

    def load(self, key):
        name = self._load_index().get(key)
        if name is None:
            return None
        try:
            return self._load_data(name)
        except Exception as e:  # noqa: BLE001 -- missing or corrupted: recompile
            _cache_log("[fastnn] dropping unreadable data %r: %s", name, e)
            _unlink(self._data_path(name))
            return None

    def drop(self, key):
        """Delete the data file of ``key`` (its index entry is overwritten by the next save)."""
        name = self._load_index().get(key)
        if name is not None:
            _unlink(self._data_path(name))


class KernelCache(FunctionCache):
    """The on-disk cache of one kernel: a failed load is a miss, a failed save is ignored.

    Numba calls ``load_overload``/``save_overload`` under its compiler lock."""

    _impl_class = _Impl

    def __init__(self, py_func):
        super().__init__(py_func)
        self._cache_file = _CheckedFile(cache_path=self._cache_path,
                                        filename_base=self._impl.filename_base,
                                        source_stamp=self._cache_file._source_stamp)

    @staticmethod
    def _in_step():
        """False once a process that imported other kernel sources has restamped the
        cache: this process's machine code and the cache's no longer mix (a notebook
        left running while the kernels are edited)."""
        return _read_stamp(_chosen) in (_stamp, None)

    def load_overload(self, sig, target_context):
        if not self._in_step():
            return None
        try:
            return super().load_overload(sig, target_context)
        except Exception as e:  # noqa: BLE001 -- e.g. LLVM rejecting the object code
            _cache_log("[fastnn] cache entry of %s%s failed to load: %s", self._name, sig, e)
            try:
                self._cache_file.drop(self._index_key(sig, target_context.codegen()))
            except Exception:  # noqa: BLE001
                pass
            return None

    def save_overload(self, sig, data):
        # The compiled function is already in use; a full disk or a directory
        # that went away must not turn that into an error.
        if not self._in_step():
            return
        try:
            super().save_overload(sig, data)
        except OSError as e:
            _cache_log("[fastnn] could not save %s%s: %s", self._name, sig, e)


def enable(dispatcher):
    """Give ``dispatcher`` fastnn's disk cache (if this process has a cache directory)."""
    if cache_dir() is not None:
        dispatcher._cache = KernelCache(dispatcher.py_func)
    return dispatcher
