"""What `make run` shows: each request's lines once, and Celery's routine lines kept out of the way."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.config.test_settings import ROOT, clean_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_dev_server_writes_one_warning_for_a_refused_request(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
        cwd=ROOT,
        env=clean_env(tmp_path, DEBUG="1", LOG_FORMAT="text"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=5)
            except urllib.error.HTTPError as error:
                assert error.code == 404
                break
            except OSError:
                assert time.monotonic() < deadline, "runserver did not answer"
                time.sleep(0.3)
        time.sleep(0.5)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)

    about_it = [line for line in output.splitlines() if "/no-such-page/" in line]
    warnings = [line for line in about_it if " WARNING " in line]
    assert len(warnings) == 1, output
    assert "django.request" in warnings[0] and "Not Found" in warnings[0]
    # Beside it, the request log's own line (INFO): method, path, status, duration.
    assert any(" INFO tunebase.request " in line and " 404 " in line for line in about_it), output
    # and nothing else: not runserver's access line either, bare, from Python's last-resort handler
    assert len(about_it) == 2, output


def _log_lines(tmp_path: Path, **env: str) -> str:
    script = (
        "import django, logging; django.setup(); "
        "from logging.config import dictConfig; from django.conf import settings; dictConfig(settings.LOGGING); "
        "logging.getLogger('celery.beat').info('Scheduler: Sending due task sweep-training'); "
        "logging.getLogger('celery.app.trace').info('Task sweep_training succeeded'); "
        "logging.getLogger('celery.beat').warning('beat cannot reach the broker'); "
        "logging.getLogger('training.runner').info('training the demo model')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=clean_env(tmp_path, DEBUG="1", LOG_FORMAT="text", **env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_celery_log_level_quiets_beats_routine_lines_but_not_warnings_or_the_apps_lines(tmp_path: Path) -> None:
    quiet = _log_lines(tmp_path, CELERY_LOG_LEVEL="WARNING")
    default = _log_lines(tmp_path)

    assert "Sending due task" not in quiet and "succeeded" not in quiet
    assert "beat cannot reach the broker" in quiet and "training the demo model" in quiet
    assert "Sending due task" in default  # without it, Celery logs at LOG_LEVEL as before


def test_make_run_starts_the_worker_with_celery_at_warning() -> None:
    result = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    devserver = result.stdout[result.stdout.index("PUBLIC_URL=") :]
    assert "CELERY_LOG_LEVEL=${CELERY_LOG_LEVEL:-WARNING}" in devserver
    assert "manage.py devserver" in devserver
