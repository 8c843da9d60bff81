"""Datasets: MNIST from its IDX files, and the small teaching sets.

MNIST
-----
``load_mnist(split)`` returns ``(X, y)``:

- ``X``: ``(N, 28, 28)`` uint8, 0 = background, 255 = ink; with
  ``normalize=True`` float32 in [0, 1]; with ``flatten=True`` ``(N, 784)``.
- ``y``: ``(N,)`` int64 labels 0-9.

N is 60,000 for ``"train"`` and 10,000 for ``"test"``.

Where the files come from, first match wins:

1. the ``data_dir`` argument;
2. the ``COURSE_DATA_DIR`` environment variable;
3. the user cache (``$XDG_CACHE_HOME/ann-course/mnist``, by default
   ``~/.cache/ann-course/mnist``), downloaded there once if missing.

A directory may hold the four files itself or in a ``mnist/`` sub-folder;
each file may be gzipped (``.gz``, as distributed) or raw. Every file is
checked against the MD5 of the original distribution before it is read.
Anything wrong (missing, truncated, corrupt) raises ``DatasetError`` with a
message that says how to fix it.

Teaching sets
-------------
``logic_gate(name)`` gives the truth tables of AND, OR, NOT, NAND, NOR and
XOR; ``make_moons`` and ``make_spirals`` give 2-D classification problems.
"""

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

ENV_VAR = "COURSE_DATA_DIR"

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)


class DatasetError(RuntimeError):
    """A dataset is missing, truncated or corrupt; the message says how to fix it."""


@dataclass(frozen=True)
class MnistFile:
    """One of the four files of the original MNIST distribution."""

    name: str  # raw file name, without .gz
    md5_gz: str
    md5_raw: str
    magic: int
    shape: tuple


MNIST_FILES = {
    ("train", "images"): MnistFile(
        "train-images-idx3-ubyte",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "6bbc9ace898e44ae57da46a324031adb",
        2051,
        (60000, 28, 28),
    ),
    ("train", "labels"): MnistFile(
        "train-labels-idx1-ubyte",
        "d53e105ee54ea40749a09fcbcd1e9432",
        "a25bea736e30d166cdddb491f175f624",
        2049,
        (60000,),
    ),
    ("test", "images"): MnistFile(
        "t10k-images-idx3-ubyte",
        "9fb629c4189551a2d022fa330f9573f3",
        "2646ac647ad5339dbf082846283269ea",
        2051,
        (10000, 28, 28),
    ),
    ("test", "labels"): MnistFile(
        "t10k-labels-idx1-ubyte",
        "ec29112dd5afa0611ce80d1b7f02629c",
        "27ae3e4e09519cfbb04c329615203637",
        2049,
        (10000,),
    ),
}

SPLITS = ("train", "test")

# IDX type codes -> numpy dtypes (big-endian where it matters).
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_FIX = (
    "Run `course data mnist` to download and verify the dataset, or set "
    f"{ENV_VAR} to a folder that holds the four original MNIST files."
)


# ---------------------------------------------------------------------------
# IDX parsing
# ---------------------------------------------------------------------------


def _open_bytes(path):
    """Return the decompressed bytes of ``path`` (gzip detected by its magic)."""
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (EOFError, OSError, gzip.BadGzipFile) as exc:
            raise DatasetError(
                f"{path} is not a complete gzip file ({exc}); it is truncated or "
                f"corrupt. Delete it and fetch it again. {_FIX}"
            ) from None
    return data


def read_idx(path):
    """Read an IDX file (gzipped or raw) into a numpy array.

    The header is two zero bytes, a type code, the number of dimensions, and
    one big-endian uint32 per dimension; the data follow in C order.

    Returns an array of the header's shape and dtype (native byte order).
    Raises ``DatasetError`` if the header is malformed or the data are
    shorter or longer than the header says.
    """
    path = Path(path)
    data = _open_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(f"{path} is not an IDX file (bad magic number). {_FIX}")
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise DatasetError(f"{path}: unknown IDX type code 0x{code:02x}. {_FIX}")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DatasetError(f"{path} is truncated inside its header. {_FIX}")
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header_len
    if found != expected:
        what = "truncated" if found < expected else "longer than its header says"
        raise DatasetError(
            f"{path} is {what}: the header promises shape {shape} "
            f"({expected:,} data bytes) but the file holds {found:,}. {_FIX}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path, array):
    """Write ``array`` as an IDX file (gzipped if ``path`` ends in ``.gz``).

    The inverse of ``read_idx``; used by the tests to make tiny datasets.
    """
    array = np.asarray(array)
    codes = {v.newbyteorder("="): k for k, v in _IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, codes[native], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + array.astype(_IDX_DTYPES[codes[native]]).tobytes()
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(payload)
    return path


# ---------------------------------------------------------------------------
# Where the files are
# ---------------------------------------------------------------------------


def default_cache_dir():
    """The user cache folder for MNIST: ``$XDG_CACHE_HOME/ann-course/mnist``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ann-course" / "mnist"


def _find(directory, spec):
    """Path of ``spec``'s file in ``directory`` (gzipped preferred), or None."""
    for name in (spec.name + ".gz", spec.name):
        candidate = Path(directory) / name
        if candidate.is_file():
            return candidate
    return None


def _holds_mnist(directory):
    return any(_find(directory, spec) for spec in MNIST_FILES.values())


def mnist_dir(data_dir=None):
    """Resolve the MNIST folder; returns ``(path, origin)``.

    ``origin`` says where the choice came from: ``"argument"``,
    ``"COURSE_DATA_DIR"`` or ``"cache"``. A given folder may hold the files
    or a ``mnist/`` sub-folder that does. A given folder that does not exist
    is an error (a typo should not silently fall back to a download).
    """
    for origin, value in (("argument", data_dir), (ENV_VAR, os.environ.get(ENV_VAR))):
        if value in (None, ""):
            continue
        path = Path(value).expanduser()
        if not path.is_dir():
            raise DatasetError(
                f"MNIST folder {path} (from {origin}) does not exist. Point it at "
                "the folder that holds train-images-idx3-ubyte.gz and the other "
                f"three files, or leave it unset to use the cache {default_cache_dir()}."
            )
        if not _holds_mnist(path) and _holds_mnist(path / "mnist"):
            path = path / "mnist"
        return path, origin
    return default_cache_dir(), "cache"


def _md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileCheck:
    """The state of one MNIST file: ``ok`` or a ``problem`` that says what is wrong."""

    name: str
    path: Path
    ok: bool
    problem: str = ""


def check_file(directory, spec):
    """Check one MNIST file in ``directory`` against its MD5; returns ``FileCheck``."""
    path = _find(directory, spec)
    if path is None:
        return FileCheck(spec.name, Path(directory) / (spec.name + ".gz"), False, "missing")
    expected = spec.md5_gz if path.suffix == ".gz" else spec.md5_raw
    actual = _md5(path)
    if actual != expected:
        return FileCheck(
            spec.name,
            path,
            False,
            f"MD5 {actual} does not match the original {expected} "
            "(truncated, corrupt or not the original MNIST file)",
        )
    return FileCheck(spec.name, path, True)


def verify_mnist(data_dir=None):
    """Check all four MNIST files; returns ``(folder, origin, [FileCheck, ...])``."""
    directory, origin = mnist_dir(data_dir)
    return directory, origin, [check_file(directory, s) for s in MNIST_FILES.values()]


# ---------------------------------------------------------------------------
# Download
# ---------------------------------------------------------------------------


def _fetch(url, target, desc):
    """Download ``url`` to ``target`` with a progress bar."""
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=60) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with open(target, "wb") as out, tqdm(
            total=total, unit="B", unit_scale=True, desc=desc, leave=False
        ) as bar:
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                bar.update(len(block))


def download_mnist(cache_dir=None, mirrors=None):
    """Download whatever MNIST files are missing or corrupt into ``cache_dir``.

    Each file is fetched into a temporary name, checked against its MD5 and
    only then moved into place, so an interrupted download never leaves a
    bad file behind. ``mirrors`` (default ``MIRRORS``) are tried in order.
    Returns the folder.
    """
    mirrors = MIRRORS if mirrors is None else mirrors
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for spec in MNIST_FILES.values():
        if check_file(directory, spec).ok:
            continue
        errors = []
        for mirror in mirrors:
            fd, tmp = tempfile.mkstemp(dir=directory, suffix=".part")
            os.close(fd)
            try:
                _fetch(mirror + spec.name + ".gz", tmp, spec.name)
                actual = _md5(tmp)
                if actual != spec.md5_gz:
                    errors.append(f"{mirror}: MD5 {actual} != {spec.md5_gz}")
                    continue
                shutil.move(tmp, directory / (spec.name + ".gz"))
                break
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                errors.append(f"{mirror}: {exc}")
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
        else:
            tried = "\n  ".join(errors)
            raise DatasetError(
                f"could not download {spec.name}.gz from any mirror:\n  {tried}\n"
                f"Download the four MNIST files by hand into {directory}, or set "
                f"{ENV_VAR} to a folder that holds them."
            )
    return directory


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _read_checked(path, mtime_ns, size, magic, shape, md5):
    """Read one file once per process (keyed on its path, mtime and size)."""
    if md5 is not None and _md5(path) != md5:
        raise DatasetError(
            f"{path} does not match the MD5 of the original MNIST file: it is "
            f"truncated or corrupt. Delete it and fetch it again. {_FIX}"
        )
    array = read_idx(path)
    header_magic = 0x800 + array.ndim  # 2051 for images, 2049 for labels
    if header_magic != magic or (shape is not None and array.shape != shape):
        raise DatasetError(
            f"{path} holds an array of shape {array.shape}, not the expected "
            f"{'images' if magic == 2051 else 'labels'}. {_FIX}"
        )
    array.setflags(write=False)
    return array


def _load_file(directory, spec, verify, origin):
    path = _find(directory, spec)
    if path is None:
        raise DatasetError(
            f"MNIST file {spec.name}(.gz) not found in {directory} (folder from "
            f"{origin}). {_FIX}"
        )
    md5 = None
    if verify:
        md5 = spec.md5_gz if path.suffix == ".gz" else spec.md5_raw
    stat = path.stat()
    shape = spec.shape if verify else None
    return _read_checked(str(path), stat.st_mtime_ns, stat.st_size, spec.magic, shape, md5)


def load_mnist(
    split="train",
    data_dir=None,
    *,
    download=True,
    verify=True,
    flatten=False,
    normalize=False,
):
    """Load the MNIST ``"train"`` or ``"test"`` split.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000 images).
        data_dir: folder with the IDX files; default ``COURSE_DATA_DIR``, then
            the user cache.
        download: when reading from the cache, download missing files first.
            A folder given by argument or ``COURSE_DATA_DIR`` is never written.
        verify: check each file's MD5 against the original distribution.
            Turn off only to read IDX files of your own in the MNIST layout.
        flatten: return ``X`` as ``(N, 784)`` instead of ``(N, 28, 28)``.
        normalize: return ``X`` as float32 in [0, 1] instead of uint8.

    Returns:
        ``X``: ``(N, 28, 28)`` or ``(N, 784)``, uint8 or float32;
        ``y``: ``(N,)`` int64 labels in 0..9.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    directory, origin = mnist_dir(data_dir)
    if origin == "cache" and download:
        if not all(check_file(directory, s).ok for s in MNIST_FILES.values()):
            download_mnist(directory)
    images = _load_file(directory, MNIST_FILES[(split, "images")], verify, origin)
    labels = _load_file(directory, MNIST_FILES[(split, "labels")], verify, origin)
    if len(images) != len(labels):
        raise DatasetError(
            f"{split} images ({len(images)}) and labels ({len(labels)}) in "
            f"{directory} do not match in number. {_FIX}"
        )
    if labels.size and labels.max() > 9:
        raise DatasetError(f"{split} labels in {directory} go beyond 9. {_FIX}")
    X = images.reshape(len(images), -1) if flatten else images
    X = X.astype(np.float32) / 255.0 if normalize else X.copy()
    return X, labels.astype(np.int64)


# ---------------------------------------------------------------------------
# Teaching sets
# ---------------------------------------------------------------------------

_GATES = {
    "and": [0, 0, 0, 1],
    "or": [0, 1, 1, 1],
    "nand": [1, 1, 1, 0],
    "nor": [1, 0, 0, 0],
    "xor": [0, 1, 1, 0],
}


def logic_gate(name):
    """Truth table of a logic gate as ``(X, y)``.

    Two-input gates ("and", "or", "nand", "nor", "xor"): ``X`` is (4, 2)
    float64 with rows [0,0], [0,1], [1,0], [1,1]; ``y`` is (4,) int64.
    "not": ``X`` is (2, 1) with rows [0], [1]; ``y`` is [1, 0].
    """
    key = str(name).lower()
    if key == "not":
        return np.array([[0.0], [1.0]]), np.array([1, 0])
    if key not in _GATES:
        known = ", ".join(sorted([*_GATES, "not"]))
        raise ValueError(f"unknown logic gate {name!r}; choose one of: {known}")
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array(_GATES[key])


def _seed(rng):
    """An int seed for libraries that want one, from an int or a Generator."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**31 - 1))
    return rng


def make_moons(n_samples=200, noise=0.1, rng=None):
    """Two interleaving half circles: ``X`` (N, 2) float64, ``y`` (N,) int64 in {0, 1}.

    A thin wrapper over scikit-learn's ``make_moons``; ``rng`` is an int seed
    or a ``numpy.random.Generator``.
    """
    from sklearn.datasets import make_moons as sk_make_moons

    X, y = sk_make_moons(n_samples=n_samples, noise=noise, random_state=_seed(rng))
    return X, y.astype(np.int64)


def make_spirals(n_per_class=100, n_classes=3, noise=0.2, rng=None):
    """Interleaved spiral arms, one per class (the CS231n spiral set).

    Returns ``X`` (n_per_class * n_classes, 2) float64 in about [-1, 1] and
    ``y`` (same N,) int64 in 0..n_classes-1. Class k's arm is the points
    r (sin t, cos t) for r from 0 to 1 and t = 4 r + 2 pi k / K, with
    Gaussian noise of standard deviation ``noise`` added to t.
    """
    if n_per_class < 1 or n_classes < 2:
        raise ValueError("make_spirals needs n_per_class >= 1 and n_classes >= 2")
    gen = np.random.default_rng(rng)
    r = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    k = np.repeat(np.arange(n_classes), n_per_class)
    t = 4.0 * r + 2.0 * np.pi * k / n_classes + noise * gen.standard_normal(r.size)
    X = np.column_stack([r * np.sin(t), r * np.cos(t)])
    return X, k.astype(np.int64)
