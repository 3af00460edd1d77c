"""Template filters of the calibration partial (``templates/training/_calibration.html``)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(value: object, digits: int = 1) -> str:
    """0.9512 -> "95.1 %"; "n/a" for a missing value."""
    if value is None or value == "":
        return "n/a"
    try:
        return f"{float(value) * 100:.{int(digits)}f} %"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "n/a"
