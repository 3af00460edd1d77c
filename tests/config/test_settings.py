"""Settings come from the environment and fail loudly, naming the variable, on anything doubtful."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_float, env_int, env_list, env_optional, env_str, load_env_file

ROOT = Path(__file__).resolve().parents[2]

# Variables the settings read that a developer's shell or the test run may have set.
_SETTINGS_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "S3_BUCKET",
    "EMAIL_PORT",
    "LOG_LEVEL",
    "TRAINING_HARD_TIME_LIMIT_S",
    "SILENCED_SYSTEM_CHECKS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "TUNEBASE_VAR_DIR",
    "TUNEBASE_ENV_FILE",
}


def clean_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """The test's environment without the settings' variables, reading no ``.env`` unless given one."""
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARIABLES}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", TUNEBASE_VAR_DIR=str(tmp_path / "var"), TUNEBASE_ENV_FILE="")
    env.update(variables)
    return env


def django_setup(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_SECRET = secrets.token_hex(32)  # 64 characters


def test_production_refuses_to_start_without_secret_key(tmp_path):
    result = django_setup(clean_env(tmp_path))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_production_refuses_a_short_secret_key(tmp_path):
    result = django_setup(clean_env(tmp_path, SECRET_KEY="short-and-guessable"))

    assert result.returncode != 0
    assert "SECRET_KEY must be at least 50 characters" in result.stderr


def test_production_starts_with_a_secret_key(tmp_path):
    result = django_setup(clean_env(tmp_path, SECRET_KEY=PRODUCTION_SECRET))

    assert result.returncode == 0, result.stderr


def test_debug_mode_starts_without_secret_key(tmp_path):
    result = django_setup(clean_env(tmp_path, DEBUG="1"))

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "1", "EMAIL_PORT": "five-eight-seven"}, "EMAIL_PORT='five-eight-seven' is not an integer"),
        ({"DEBUG": "1", "TRAINING_HARD_TIME_LIMIT_S": "10"}, "TRAINING_HARD_TIME_LIMIT_S=10 is below its minimum"),
        ({"DEBUG": "1", "LOG_LEVEL": "LOUD"}, "LOG_LEVEL='LOUD' is not one of"),
        ({"DEBUG": "1", "SECURE_SSL_REDIRECT": "sometimes"}, "SECURE_SSL_REDIRECT='sometimes' is not a boolean"),
    ],
    ids=["bad-boolean", "bad-integer", "below-minimum", "bad-choice", "bad-boolean-elsewhere"],
)
def test_bad_value_stops_start_up_naming_the_variable(tmp_path, variables, message):
    result = django_setup(clean_env(tmp_path, **variables))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_deploy_checks_pass_with_a_production_environment(tmp_path):
    production = {
        "DEBUG": "0",
        "SECRET_KEY": PRODUCTION_SECRET,
        "ALLOWED_HOSTS": "tunebase.example.com",
    }
    for name in ("DATABASE_URL", "REDIS_URL"):
        if os.environ.get(name):
            production[name] = os.environ[name]

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean_env(tmp_path, **production),
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- .env -----------------------------------------------------------------------------------------------

PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'DEBUG': s.DEBUG, 'SECRET_KEY': s.SECRET_KEY}))"
)


def settings_seen(env: dict[str, str]) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_an_env_file_turns_debug_on_with_its_own_secret_key(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"# written by make\n\nDEBUG=1\nexport SECRET_KEY='{PRODUCTION_SECRET}'\n")

    seen = settings_seen(clean_env(tmp_path, TUNEBASE_ENV_FILE=str(env_file)))

    assert seen == {"DEBUG": True, "SECRET_KEY": PRODUCTION_SECRET}


def test_the_real_environment_wins_over_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=1\nSECRET_KEY=from-the-file-" + "x" * 50 + "\n")

    seen = settings_seen(clean_env(tmp_path, TUNEBASE_ENV_FILE=str(env_file), SECRET_KEY=PRODUCTION_SECRET))
    production = django_setup(clean_env(tmp_path, TUNEBASE_ENV_FILE=str(env_file), DEBUG="0", SECRET_KEY=""))

    assert seen == {"DEBUG": True, "SECRET_KEY": PRODUCTION_SECRET}
    assert production.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in production.stderr


def test_production_without_an_env_file_still_refuses_to_start(tmp_path):
    result = django_setup(clean_env(tmp_path, TUNEBASE_ENV_FILE=str(tmp_path / "no-such.env")))

    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_a_malformed_env_file_stops_start_up_naming_file_and_line(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=1\nthis is not an assignment\n")

    result = django_setup(clean_env(tmp_path, TUNEBASE_ENV_FILE=str(env_file)))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{env_file}, line 2: expected NAME=value" in result.stderr


def make_env_file(directory: Path) -> str:
    """Run ``make .env`` with this checkout's Makefile in ``directory``; the file's text afterwards."""
    directory.mkdir(exist_ok=True)
    subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), ".env"],
        cwd=directory,
        env={**os.environ, "PYTHON": sys.executable},
        check=True,
        capture_output=True,
        timeout=60,
    )
    return (directory / ".env").read_text()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_writes_a_development_env_file_once_and_never_overwrites_it(tmp_path):
    first = make_env_file(tmp_path)
    env_file = tmp_path / ".env"
    seen = settings_seen(clean_env(tmp_path, TUNEBASE_ENV_FILE=str(env_file)))
    env_file.write_text(first + "# edited by the developer\n")

    assert make_env_file(tmp_path) == first + "# edited by the developer\n"
    assert "DEBUG=1" in first.splitlines()
    assert seen["DEBUG"] is True
    assert len(str(seen["SECRET_KEY"])) >= 50
    assert f"SECRET_KEY={seen['SECRET_KEY']}" in first.splitlines()
    assert make_env_file(tmp_path / "another-checkout") != first  # each checkout its own key
    assert env_file.stat().st_mode & 0o077 == 0  # readable by its owner only


# --- config.env helpers ---------------------------------------------------------------------------------

NAME = "TUNEBASE_TEST_SETTING"


@pytest.fixture
def setenv(monkeypatch):
    monkeypatch.delenv(NAME, raising=False)

    def set_(value: str) -> None:
        monkeypatch.setenv(NAME, value)

    return set_


def test_env_str_reads_and_strips(setenv):
    setenv("  value ")

    assert env_str(NAME) == "value"


def test_env_str_falls_back_to_its_default(setenv):
    assert env_str(NAME, "fallback") == "fallback"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_env_str_required_and_missing_raises_naming_it(setenv, value):
    if value is not None:
        setenv(value)

    with pytest.raises(ImproperlyConfigured, match=NAME):
        env_str(NAME, "ignored", required=True)


def test_env_str_without_default_is_required(setenv):
    with pytest.raises(ImproperlyConfigured, match=f"{NAME} is required"):
        env_str(NAME)


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("  ", None), (" x ", "x")])
def test_env_optional(setenv, value, expected):
    if value is not None:
        setenv(value)

    assert env_optional(NAME) == expected


@pytest.mark.parametrize("value", ["1", "true", "True", "YES", "on", " on "])
def test_env_bool_true(setenv, value):
    setenv(value)

    assert env_bool(NAME, False) is True


@pytest.mark.parametrize("value", ["0", "false", "FALSE", "no", "off", ""])
def test_env_bool_false(setenv, value):
    setenv(value)

    assert env_bool(NAME, True) is False


def test_env_bool_unset_is_the_default(setenv):
    assert env_bool(NAME, True) is True


@pytest.mark.parametrize("value", ["maybe", "2", "y", "enabled"])
def test_env_bool_rejects_anything_else(setenv, value):
    setenv(value)

    with pytest.raises(ImproperlyConfigured, match=f"{NAME}='{value}' is not a boolean"):
        env_bool(NAME, False)


def test_env_int_reads(setenv):
    setenv(" 42 ")

    assert env_int(NAME, 1) == 42


@pytest.mark.parametrize("value", [None, ""])
def test_env_int_unset_or_empty_is_the_default(setenv, value):
    if value is not None:
        setenv(value)

    assert env_int(NAME, 7) == 7


@pytest.mark.parametrize("value", ["4.5", "ten", "1e3"])
def test_env_int_rejects_non_integers(setenv, value):
    setenv(value)

    with pytest.raises(ImproperlyConfigured, match=f"{NAME}='{value}' is not an integer"):
        env_int(NAME, 1)


def test_env_int_enforces_its_minimum(setenv):
    setenv("-1")

    with pytest.raises(ImproperlyConfigured, match=f"{NAME}=-1 is below its minimum of 0"):
        env_int(NAME, 1, minimum=0)


def test_env_int_accepts_its_minimum(setenv):
    setenv("0")

    assert env_int(NAME, 1, minimum=0) == 0


def test_env_float_reads(setenv):
    setenv("0.25")

    assert env_float(NAME, 1.0) == 0.25


def test_env_float_rejects_non_numbers(setenv):
    setenv("half")

    with pytest.raises(ImproperlyConfigured, match=f"{NAME}='half' is not a number"):
        env_float(NAME, 1.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a.example, b.example ,,", ["a.example", "b.example"]), ("", []), ("one", ["one"])],
)
def test_env_list_splits_on_commas(setenv, value, expected):
    setenv(value)

    assert env_list(NAME, ["default"]) == expected


def test_env_list_unset_is_a_copy_of_the_default(setenv):
    default = ["x"]

    result = env_list(NAME, default)

    assert result == ["x"]
    assert result is not default


def test_env_choice_reads_a_valid_choice(setenv):
    setenv("b")

    assert env_choice(NAME, "a", ("a", "b")) == "b"


def test_env_choice_unset_is_the_default(setenv):
    assert env_choice(NAME, "a", ("a", "b")) == "a"


def test_env_choice_rejects_an_unknown_value(setenv):
    setenv("c")

    with pytest.raises(ImproperlyConfigured, match=f"{NAME}='c' is not one of: a, b"):
        env_choice(NAME, "a", ("a", "b"))


@pytest.fixture
def unset_after(monkeypatch):
    """``unset_after(*names)``: those variables are unset now and restored (unset) after the test."""

    def unset(*names: str) -> None:
        for name in names:
            monkeypatch.setenv(name, "placeholder")  # so that monkeypatch restores the variable's absence
            monkeypatch.delenv(name)

    return unset


def test_load_env_file_reads_assignments_comments_quotes_and_export(tmp_path, unset_after):
    unset_after("TB_PLAIN", "TB_SINGLE", "TB_DOUBLE", "TB_EXPORTED", "TB_EMPTY")
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# a comment\n\nTB_PLAIN = plain value \nTB_SINGLE='a # b'\nTB_DOUBLE=\"x=y\"\n"
        "export TB_EXPORTED=1\nTB_EMPTY=\n"
    )

    assert load_env_file(env_file) == ["TB_PLAIN", "TB_SINGLE", "TB_DOUBLE", "TB_EXPORTED", "TB_EMPTY"]
    assert [os.environ[n] for n in ("TB_PLAIN", "TB_SINGLE", "TB_DOUBLE", "TB_EXPORTED", "TB_EMPTY")] == [
        "plain value",
        "a # b",
        "x=y",
        "1",
        "",
    ]


def test_load_env_file_never_replaces_a_variable_already_set(tmp_path, unset_after, monkeypatch):
    unset_after("TB_NEW")
    monkeypatch.setenv("TB_SET", "from the environment")
    env_file = tmp_path / ".env"
    env_file.write_text("TB_SET=from the file\nTB_NEW=from the file\n")

    assert load_env_file(env_file) == ["TB_NEW"]
    assert (os.environ["TB_SET"], os.environ["TB_NEW"]) == ("from the environment", "from the file")


@pytest.mark.parametrize("path", [None, ""])
def test_load_env_file_without_a_path_reads_nothing(path):
    assert load_env_file(path) == []


def test_load_env_file_without_the_file_reads_nothing(tmp_path):
    assert load_env_file(tmp_path / "absent.env") == []


@pytest.mark.parametrize("line", ["no equals sign", "=value", "two words=x", "1ST=x"])
def test_load_env_file_refuses_a_malformed_line_naming_it(tmp_path, line):
    env_file = tmp_path / ".env"
    env_file.write_text(f"# fine\n{line}\n")

    with pytest.raises(ImproperlyConfigured, match=f"line 2: expected NAME=value, got '{line}'"):
        load_env_file(env_file)
