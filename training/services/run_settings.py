"""What a customer may set on a training run, checked in one place for the dashboard's form and the API.

``clean_run_settings`` takes the values as they came (the form's strings, the API's JSON numbers; empty or
absent ones are left to the engine's defaults for the dataset's size) and returns them typed, or raises one
``InvalidInput`` whose ``details`` name every setting that is wrong, each with a sentence a person can act on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenants.errors import InvalidInput


@dataclass(frozen=True)
class Setting:
    name: str
    label: str
    kind: type[int] | type[float]
    low: float
    high: float

    @property
    def rule(self) -> str:
        what = "a whole number" if self.kind is int else "a number"
        return f"{self.label} must be {what} between {_number(self.low)} and {_number(self.high)}"


def _number(value: float) -> str:
    """1e-06 as 0.000001, 2147483647 as 2,147,483,647: bounds as people write them."""
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:.12f}".rstrip("0")


SETTINGS: tuple[Setting, ...] = (
    Setting("epochs", "Epochs", int, 1, 50),
    Setting("learning_rate", "Learning rate", float, 1e-6, 1e-2),
    Setting("batch_size", "Batch size", int, 1, 512),
    Setting("max_length", "Max length", int, 8, 512),
    Setting("seed", "Seed", int, 0, 2**31 - 1),
)
SETTING_NAMES = frozenset(s.name for s in SETTINGS)

# What a customer may set, with the bounds that keep a run sane (the table above, as (type, low, high)).
HYPERPARAMETER_BOUNDS: dict[str, tuple[type, float, float]] = {s.name: (s.kind, s.low, s.high) for s in SETTINGS}


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse(setting: Setting, value: Any) -> int | float | None:
    """The value as the setting's type, or None when it is not one (a word, a fraction for a whole number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            number: float = float(value.strip()) if setting.kind is float else _integer(value)
        except ValueError:
            return None
    elif isinstance(value, int | float):
        number = value
    else:
        return None
    if not math.isfinite(number):
        return None
    if setting.kind is int:
        return int(number) if number == int(number) else None
    return float(number)


def _integer(text: str) -> float:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)  # "4.0" is 4; "4.5" is refused by the caller; "abc" raises


def _shown(value: Any) -> str:
    text = str(value).strip()
    return text if len(text) <= 30 else text[:29] + "…"


def setting_errors(values: Mapping[str, Any]) -> tuple[dict[str, int | float], list[dict[str, Any]]]:
    """The settings given, typed, and an error detail (``field``, ``message``, ``code``) for each wrong one."""
    cleaned: dict[str, int | float] = {}
    errors: list[dict[str, Any]] = []
    for name in values:
        if name not in SETTING_NAMES and not _is_empty(values[name]):
            known = ", ".join(s.name for s in SETTINGS)
            errors.append({"field": name, "message": f"Unknown setting {name!r}; use {known}.", "code": "invalid"})
    for setting in SETTINGS:
        value = values.get(setting.name)
        if _is_empty(value):
            continue
        number = _parse(setting, value)
        if number is None or not setting.low <= number <= setting.high:
            errors.append(
                {
                    "field": setting.name,
                    "message": f"{setting.rule} (not {_shown(value)}).",
                    "code": "invalid",
                }
            )
            continue
        cleaned[setting.name] = number
    return cleaned, errors


def invalid(errors: list[dict[str, Any]]) -> InvalidInput:
    """One error naming every wrong input: its message lists them all, its ``details`` hold one each."""
    if len(errors) == 1:
        message = errors[0]["message"]
    else:
        message = f"{len(errors)} settings are not valid: " + " ".join(e["message"] for e in errors)
    return InvalidInput(message, field=errors[0]["field"], details=errors)


def clean_run_settings(values: Mapping[str, Any]) -> dict[str, int | float]:
    """The run's settings, typed; raises ``InvalidInput`` naming every one that is wrong."""
    cleaned, errors = setting_errors(values)
    if errors:
        raise invalid(errors)
    return cleaned
