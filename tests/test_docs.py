"""The README stays true to the code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_lists_every_environment_variable_the_settings_read():
    settings_source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r'env_[a-z]+\(\s*"([A-Z0-9_]+)"', settings_source))
    readme = (ROOT / "README.md").read_text()

    assert len(read) > 20
    assert sorted(name for name in read if f"`{name}`" not in readme) == []


def test_readme_names_both_commands():
    readme = (ROOT / "README.md").read_text()

    assert "make run" in readme
    assert "make test" in readme
