"""One engine, two faces: the core never imports Qt (napari's rule, STYLE.md)."""

import ast
import pathlib
import subprocess
import sys

import estimator

PKG = pathlib.Path(estimator.__file__).parent
QT = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6")


def test_no_qt_import_in_core_sources():
    offenders = []
    for path in PKG.rglob("*.py"):
        if "gui" in path.relative_to(PKG).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            names += [n for n in names if n.startswith("estimator.gui")]
            for n in names:
                if n.split(".")[0] in QT or n.startswith("estimator.gui"):
                    if not (path.name == "cli.py"):  # cli imports gui lazily, only for chart/gui
                        offenders.append(f"{path.name}: {n}")
    assert not offenders, offenders


def test_core_modules_load_without_qt():
    code = (
        "import sys\n"
        "import estimator.laws, estimator.allocation, estimator.costs, estimator.hardware,"
        " estimator.scenario, estimator.cli, estimator.units, estimator.calibration\n"
        "from estimator.scenario import Scenario, estimate\n"
        "estimate(Scenario())\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT!r}]\n"
        "print(bad)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_estimate_cli_does_not_import_scipy_or_qt():
    code = (
        "import sys\n"
        "from estimator.cli import main\n"
        "main(['estimate', '--compute', '1e24', '--json'])\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('scipy', 'PySide6', 'pyqtgraph')],"
        " file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "[]"
