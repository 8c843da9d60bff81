"""The `course` command."""

import os
import subprocess
import sys
from pathlib import Path

from course import data
from course.cli import main
from course.data import write_idx

import numpy as np


def _real_dir():
    return data.mnist_dir(os.environ.get("COURSE_DATA_DIR") or None)[0]


def test_data_mnist_reports_every_checksum_of_a_good_folder(capsys):
    assert main(["data", "mnist", "--dir", str(_real_dir())]) == 0
    out = capsys.readouterr().out
    assert f"MNIST folder: {_real_dir()} (from argument)" in out
    assert out.count("[ok ]") == 4
    assert "every MD5 matches" in out


def test_data_mnist_names_the_bad_file_and_fails(tmp_path, capsys):
    for spec in data.MNIST_FILES.values():
        (tmp_path / (spec.name + ".gz")).write_bytes((_real_dir() / (spec.name + ".gz")).read_bytes())
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    assert main(["data", "mnist", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "[BAD] t10k-labels-idx1-ubyte.gz  <- MD5" in out
    assert out.count("[ok ]") == 3


def test_data_mnist_without_download_reports_missing_files(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert main(["data", "mnist", "--no-download"]) == 1
    out = capsys.readouterr().out
    assert "(from cache)" in out and out.count("<- missing") == 4


def test_data_mnist_with_a_folder_that_does_not_exist_says_so(tmp_path, capsys):
    assert main(["data", "mnist", "--dir", str(tmp_path / "nope")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_course_console_script_is_installed_and_runs():
    script = Path(sys.executable).parent / "course"
    result = subprocess.run([str(script), "data", "mnist", "--dir", str(_real_dir())],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "every MD5 matches" in result.stdout
