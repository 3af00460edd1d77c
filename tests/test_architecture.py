"""The floor plan holds, and its rules (pyproject.toml's import-linter contracts) catch a breach."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["config", "tenants", "webhooks", "billing", "projects", "training", "inference"]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": str(LINT_IMPORTS.parent), "COLUMNS": "400"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_layers_and_the_django_free_cores_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("training/engine/loop.py", "import tenants.models", "The training core"),
        ("training/engine/data.py", "import training.models", "The training core"),
        ("inference/runtime/cache.py", "from django.conf import settings", "The serving core"),
        ("inference/runtime/batcher.py", "import inference.loading", "The serving core"),
        ("projects/ingest/sniff.py", "import projects.models", "The ingest core"),
        ("tenants/lookups.py", "import training.models", "Apps are layered"),
        ("projects/selectors.py", "import inference.selectors", "Apps are layered"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(tmp_path: Path, module: str, line: str, broken: str) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")

    result = _lint_imports(tmp_path)

    assert result.returncode != 0
    broken_lines = [text for text in result.stdout.splitlines() if " BROKEN" in text]
    assert any(text.startswith(broken) for text in broken_lines), result.stdout
