"""course.data: the IDX parser, the MNIST loader, and the teaching sets."""

import gzip
import os
import shutil
import time

import numpy as np
import pytest

from course import data
from course.data import DatasetError, load_mnist, read_idx, write_idx

REAL_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
REAL_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _tiny_mnist(folder, n_train=5, n_test=3, gz=True):
    """Write a tiny dataset in the MNIST layout; returns (images, labels) per split."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(folder / (data.MNIST_FILES[(split, "images")].name + suffix), images)
        write_idx(folder / (data.MNIST_FILES[(split, "labels")].name + suffix), labels)
        made[split] = (images, labels)
    return made


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """No test reads the user's cache or the configured folder by accident."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data._read_checked.cache_clear()


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32,
                                   np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip_for_every_idx_type(tmp_path, dtype, suffix):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = write_idx(tmp_path / f"a{suffix}", array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_big_endian_as_in_the_format(tmp_path):
    write_idx(tmp_path / "labels", np.array([7, 2, 1], dtype=np.uint8))
    raw = (tmp_path / "labels").read_bytes()
    assert raw[:4] == bytes([0, 0, 0x08, 1])
    assert int.from_bytes(raw[4:8], "big") == 3
    assert raw[8:] == bytes([7, 2, 1])


def test_truncated_idx_file_is_reported_with_sizes(tmp_path):
    path = write_idx(tmp_path / "imgs", np.zeros((4, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=r"truncated.*\(4, 28, 28\)"):
        read_idx(path)


def test_truncated_gzip_file_is_reported(tmp_path):
    path = write_idx(tmp_path / "imgs.gz", np.zeros((40, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(DatasetError, match="not a complete gzip file"):
        read_idx(path)


def test_file_that_is_not_idx_is_reported(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, these are not pixels")
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(path)


@pytest.mark.parametrize("gz", [True, False])
def test_load_tiny_dataset_shapes_and_dtypes(tmp_path, gz):
    made = _tiny_mnist(tmp_path / "d", gz=gz)
    X, y = load_mnist("train", tmp_path / "d", verify=False)
    assert X.shape == (5, 28, 28) and X.dtype == np.uint8
    assert y.shape == (5,) and y.dtype == np.int64
    np.testing.assert_array_equal(X, made["train"][0])
    np.testing.assert_array_equal(y, made["train"][1])
    X, y = load_mnist("test", tmp_path / "d", verify=False, flatten=True, normalize=True)
    assert X.shape == (3, 784) and X.dtype == np.float32
    assert 0.0 <= X.min() and X.max() <= 1.0
    np.testing.assert_allclose(X, made["test"][0].reshape(3, -1) / 255.0, rtol=1e-6)


def test_returned_arrays_are_the_callers_to_change(tmp_path):
    made = _tiny_mnist(tmp_path / "d")
    X, _ = load_mnist("train", tmp_path / "d", verify=False)
    X[0, 0, 0] = X[0, 0, 0] ^ 0xFF
    X2, _ = load_mnist("train", tmp_path / "d", verify=False)
    assert X2[0, 0, 0] == made["train"][0][0, 0, 0], "the loader's cache was changed"


def test_checksum_mismatch_names_the_file_and_the_fix(tmp_path):
    _tiny_mnist(tmp_path / "d")
    with pytest.raises(DatasetError, match=r"train-images.*MD5.*course data mnist"):
        load_mnist("train", tmp_path / "d")


def test_missing_files_name_the_folder_and_the_fix(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"not found in .*empty.*COURSE_DATA_DIR"):
        load_mnist("train", tmp_path / "empty", download=False)


def test_a_folder_that_does_not_exist_is_an_error_not_a_download(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_mnist("train", tmp_path / "typo")


def test_mismatched_image_and_label_counts_are_reported(tmp_path):
    _tiny_mnist(tmp_path / "d")
    write_idx(tmp_path / "d" / "train-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(DatasetError, match="do not match in number"):
        load_mnist("train", tmp_path / "d", verify=False)


def test_unknown_split_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_mnist("validation", tmp_path)


def test_folder_precedence_argument_then_environment_then_cache(tmp_path, monkeypatch):
    for name in ("arg", "env"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "env"))
    assert data.mnist_dir(tmp_path / "arg") == (tmp_path / "arg", "argument")
    assert data.mnist_dir() == (tmp_path / "env", "COURSE_DATA_DIR")
    monkeypatch.delenv("COURSE_DATA_DIR")
    assert data.mnist_dir() == (tmp_path / "cache" / "ann-course" / "mnist", "cache")


def test_folder_may_hold_an_mnist_subfolder(tmp_path):
    _tiny_mnist(tmp_path / "datasets" / "mnist")
    folder, _ = data.mnist_dir(tmp_path / "datasets")
    assert folder == tmp_path / "datasets" / "mnist"


def test_download_verifies_checksums_and_falls_back_to_the_next_mirror(
    tmp_path, monkeypatch, real_mnist_dir
):
    """A mirror serving bad files is rejected by MD5; the next good one is used."""
    bad = tmp_path / "bad_mirror"
    _tiny_mnist(bad)
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    mirrors = (bad.as_uri() + "/", real_mnist_dir.as_uri() + "/")
    target = data.download_mnist(tmp_path / "cache_dir", mirrors=mirrors)
    checks = [data.check_file(target, s) for s in data.MNIST_FILES.values()]
    assert all(c.ok for c in checks), checks
    assert not list(target.glob("*.part")), "a temporary download was left behind"


def test_download_failure_from_every_mirror_says_what_to_do(tmp_path):
    bad = tmp_path / "bad_mirror"
    _tiny_mnist(bad)
    with pytest.raises(DatasetError, match=r"(?s)could not download .*MD5.*by hand"):
        data.download_mnist(tmp_path / "c", mirrors=(bad.as_uri() + "/",))
    assert not list((tmp_path / "c").glob("*"))


def test_cache_is_filled_by_download_when_nothing_is_configured(
    tmp_path, monkeypatch, real_mnist_dir
):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "MIRRORS", (real_mnist_dir.as_uri() + "/",))
    X, y = load_mnist("test")
    assert X.shape == (10000, 28, 28)
    assert (tmp_path / "cache" / "ann-course" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()


@pytest.fixture
def real_mnist_dir():
    """The real MNIST folder this test run is configured with."""
    folder, _ = data.mnist_dir(os.environ.get("COURSE_DATA_DIR") or None)
    if not all(data.check_file(folder, s).ok for s in data.MNIST_FILES.values()):
        data.download_mnist(folder)
    return folder


@pytest.mark.mnist
def test_real_mnist_loads_fast_with_the_known_shapes_and_label_counts(real_mnist_dir):
    start = time.perf_counter()
    X_train, y_train = load_mnist("train", real_mnist_dir)
    X_test, y_test = load_mnist("test", real_mnist_dir)
    seconds = time.perf_counter() - start
    assert X_train.shape == (60000, 28, 28) and X_train.dtype == np.uint8
    assert X_test.shape == (10000, 28, 28)
    assert np.bincount(y_train).tolist() == REAL_TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == REAL_TEST_COUNTS
    assert X_train.max() == 255 and X_train.min() == 0
    assert seconds < 3.0, f"loading MNIST took {seconds:.2f} s"


@pytest.mark.mnist
def test_real_mnist_also_reads_from_raw_uncompressed_files(tmp_path, real_mnist_dir):
    for spec in data.MNIST_FILES.values():
        with gzip.open(real_mnist_dir / (spec.name + ".gz")) as src, \
                open(tmp_path / spec.name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    X, y = load_mnist("test", tmp_path)
    assert X.shape == (10000, 28, 28) and np.bincount(y).tolist() == REAL_TEST_COUNTS


@pytest.mark.parametrize("gate, expected", [
    ("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1]), ("nand", [1, 1, 1, 0]),
    ("nor", [1, 0, 0, 0]), ("xor", [0, 1, 1, 0]), ("not", [1, 0]),
])
def test_logic_gate_truth_tables(gate, expected):
    X, y = data.logic_gate(gate)
    assert y.tolist() == expected
    assert X.shape == ((2, 1) if gate == "not" else (4, 2))


def test_unknown_logic_gate_lists_the_known_ones():
    with pytest.raises(ValueError, match="and, nand, nor, not, or, xor"):
        data.logic_gate("xnor")


def test_moons_and_spirals_are_seeded_and_shaped():
    X1, y1 = data.make_moons(100, rng=3)
    X2, y2 = data.make_moons(100, rng=3)
    np.testing.assert_array_equal(X1, X2)
    assert X1.shape == (100, 2) and set(y1.tolist()) == {0, 1}
    X, y = data.make_spirals(50, 3, rng=np.random.default_rng(1))
    assert X.shape == (150, 2) and np.bincount(y).tolist() == [50, 50, 50]
    assert np.abs(X).max() <= 1.0 + 1e-12
