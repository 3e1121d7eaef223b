"""The wheel carries everything read at run time: a non-editable install works from anywhere."""

import json
import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if r.returncode != 0 and "No module named" in r.stderr and "setuptools" in r.stderr:
        pytest.skip("setuptools is not installed in this environment")
    assert r.returncode == 0, r.stderr
    (whl,) = out.glob("*.whl")
    return whl


def test_wheel_contains_runtime_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for law in ("epoch-2024", "chinchilla-2022", "kaplan-2020"):
        assert f"estimator/data/laws/{law}.yaml" in names
    for pid in (
        "a100-40gb",
        "a100-80gb",
        "h100-sxm",
        "h100-pcie",
        "h200",
        "b200",
        "tpu-v4",
        "tpu-v5e",
        "tpu-v5p",
        "tpu-v6e",
        "mi300x",
    ):
        assert f"estimator/hardware_profiles/{pid}.yaml" in names
    assert "estimator/data/published_runs.csv" in names
    assert "estimator/resources/icon.svg" in names
    assert any(n.startswith("estimator/gui/") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry).decode()
    assert "estimator = estimator.cli:main" in text


def test_installed_wheel_runs_outside_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    env = dict(os.environ, PYTHONPATH=str(target))
    code = (
        "import estimator, json; from estimator.cli import main;"
        "assert 'site' in estimator.__file__, estimator.__file__;"
        "main(['estimate', '--compute', '1e24', '--hardware', 'tpu-v5p', '--json'])"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["hardware"] == "tpu-v5p" and d["law"] == "epoch-2024"
