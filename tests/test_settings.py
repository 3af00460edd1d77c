"""Settings come from the environment and fail loudly, naming the variable, on anything doubtful."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_float, env_int, env_list, env_optional, env_str

ROOT = Path(__file__).resolve().parent.parent

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
}


def clean_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARIABLES}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", TUNEBASE_VAR_DIR=str(tmp_path / "var"), **variables)
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
