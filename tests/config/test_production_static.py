"""With DEBUG off the dashboard is served from ``collectstatic``'s output through the manifest storage:
collecting must succeed and every page must name only files that were collected."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from tests.factories import dashboard_url, ready_dataset

ROOT = Path(__file__).resolve().parents[2]
STATIC_REFERENCE = re.compile(r"""(?:src|href)="/static/([^"?#]+)""")


def production_staticfiles_storage(tmp_path: Path) -> dict[str, object]:
    """The ``staticfiles`` storage the settings choose with ``DEBUG=0``, read from a fresh process."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "TUNEBASE_VAR_DIR"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_hex(32),
        TUNEBASE_VAR_DIR=str(tmp_path / "var"),
        TUNEBASE_ENV_FILE="",
    )
    code = "import json, django; django.setup(); from django.conf import settings; "
    code += "print(json.dumps(settings.STORAGES['staticfiles']))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    storage: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return storage


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``collectstatic`` into a temporary folder with production's storage; the test runs with it."""
    tmp = tmp_path_factory.mktemp("production-static")
    storage = production_staticfiles_storage(tmp)
    assert "Manifest" in str(storage["BACKEND"])
    static_root = tmp / "staticfiles"
    with override_settings(
        DEBUG=False, STATIC_ROOT=static_root, STORAGES={**settings.STORAGES, "staticfiles": storage}
    ):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield static_root


def test_collectstatic_succeeds_and_writes_the_manifest(collected):
    manifest = json.loads((collected / "staticfiles.json").read_text())

    assert "vendor/chart.umd.min.js" in manifest["paths"]
    assert (collected / manifest["paths"]["vendor/chart.umd.min.js"]).is_file()


def test_collected_files_are_gzipped_as_the_image_builds_them_without_brotli(collected):
    """Brotli copies would take minutes to make wherever the brotli package is installed (the development
    tools bring it), and the image has none: gzip only (config/staticfiles.py)."""
    assert list(collected.rglob("*.css.gz"))
    assert not list(collected.rglob("*.br"))


def test_vendored_files_reference_no_missing_file():
    for path in (ROOT / "static" / "vendor").iterdir():
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"sourceMappingURL=([^\s*]+)", text):
            assert (path.parent / match.group(1)).is_file(), f"{path.name} references {match.group(1)}"


@pytest.mark.parametrize("page", ["overview", "project-detail", "dataset-detail", "project-list", "member-list"])
def test_the_dashboard_renders_with_collected_files(collected, client, tenant, owner, project, page):
    dataset = ready_dataset(project)
    arguments = {
        "overview": {},
        "project-list": {},
        "member-list": {},
        "project-detail": {"project_id": project.pk},
        "dataset-detail": {"project_id": project.pk, "dataset_id": dataset.pk},
    }[page]
    client.force_login(owner.user)

    response = client.get(dashboard_url(page, tenant, **arguments))

    assert response.status_code == 200
    referenced = STATIC_REFERENCE.findall(response.content.decode())
    assert referenced, "the page names no static file"
    for name in referenced:
        assert (collected / name).is_file(), f"{name} is not among the collected files"
        assert re.search(r"\.[0-9a-f]{12}\.", name), f"{name} is not the manifest's hashed name"
