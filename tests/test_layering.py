"""DESIGN.md's layering rule, checked mechanically with import-linter (contracts in
pyproject.toml): engine imports no Qt/app/nodes and its layers only import downwards
(cli over server over core over templates/secrets over workflow over support over
errors), type-checking imports included; nodes no Qt/app; the app no nodes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_import_contracts_hold():
    r = lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 kept, 0 broken" in r.stdout
    assert "the engine's layers: shells over the core over its services KEPT" in r.stdout


def test_an_upward_import_under_type_checking_breaks_the_layers(tmp_path):
    for folder in ("engine", "nodes", "flowui"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    model = tmp_path / "engine" / "workflow" / "model.py"
    model.write_text(model.read_text() + "\nfrom typing import TYPE_CHECKING\n"
                     "if TYPE_CHECKING:\n    from engine.core.runner import Runner\n")
    r = lint(tmp_path)
    assert r.returncode != 0
    assert "the engine's layers: shells over the core over its services BROKEN" in r.stdout
    assert "engine.workflow.model -> engine.core.runner" in r.stdout
