"""One engine, two faces: the core never imports Qt or the faces (napari's rule, STYLE.md), the
pipeline's stages import only the stages below them, and the core runs with no Qt installed."""

from __future__ import annotations

import ast
import pathlib
import shutil
import subprocess
import sys
import tomllib

import estimator

PKG = pathlib.Path(estimator.__file__).parent
ROOT = PKG.parent
QT = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6")

# Makes every import of Qt or pyqtgraph fail, as on a machine without the gui extra.
BLOCK_QT = (
    "import sys, importlib.abc\n"
    "class _NoQt(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    f"        if name.split('.')[0] in {QT!r}:\n"
    "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
    "        return None\n"
    "sys.meta_path.insert(0, _NoQt())\n"
)


def _core_modules() -> set[str]:
    out = set()
    for path in PKG.glob("*.py"):
        if path.stem not in ("__init__", "__main__", "cli", "cli_report"):
            out.add(f"estimator.{path.stem}")
    for path in PKG.iterdir():
        if (path.is_dir() and (path / "__init__.py").exists()
                and path.name not in ("gui", "data")):  # data: YAML and CSV only
            out.add(f"estimator.{path.name}")
    return out


def test_no_qt_import_in_core_sources():
    offenders = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if rel.parts[0] == "gui" or rel.name in ("cli.py", "cli_ladder.py", "cli_report.py",
                                                 "__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in QT or n.startswith(("estimator.gui", "estimator.cli")):
                    offenders.append(f"{rel}: {n}")
    assert not offenders, offenders


def test_layer_contracts_hold():
    """import-linter checks the contracts in pyproject.toml: the core never imports the faces
    or Qt; the window never imports the CLI; each pipeline stage imports only lower stages."""
    exe = shutil.which("lint-imports") or str(pathlib.Path(sys.executable).parent / "lint-imports")
    r = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "broken" not in r.stdout.lower() or " 0 broken" in r.stdout


def test_the_core_contract_lists_every_core_module():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = cfg["tool"]["importlinter"]["contracts"][0]
    listed = set(contract["source_modules"])
    assert _core_modules() <= listed, sorted(_core_modules() - listed)


def test_core_and_cli_run_with_no_qt_installed():
    code = BLOCK_QT + (
        "from estimator.cli import main\n"
        "code = main(['estimate', '--compute', '1e24', '--json'])\n"
        "from estimator.scenario import Scenario\n"
        "from estimator.engine import estimate, compare\n"
        "from estimator.curves import compute_curves\n"
        "from estimator.report import report_markdown\n"
        "s = Scenario(); e = estimate(s); report_markdown(s, e, compare(s)); compute_curves(s, e)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT!r}]\n"
        "print(code, bad, file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr.strip().splitlines()[-1] == "0 []"


def test_gui_command_without_qt_says_what_to_install():
    code = BLOCK_QT + (
        "from estimator.cli import main\n"
        "print('exit', main(['gui']))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "exit 2" in r.stdout, (r.stdout, r.stderr)
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and 'pip install "llm-cost-estimator[gui]"' in err[0], err


def test_estimate_cli_does_not_import_scipy_or_qt():
    code = (
        "import sys\n"
        "from estimator.cli import main\n"
        "main(['estimate', '--compute', '1e24', '--json'])\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('scipy', 'PySide6', 'pyqtgraph')],"
        " file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "[]"
