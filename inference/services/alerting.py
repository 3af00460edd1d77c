"""Alert rules over a monitor's stream, as plain arithmetic on window counts. No Django here.

- ``share_above``: the label's share of the events in the window is above ``threshold`` (0.4 = 40 %),
  once the window holds at least ``min_events`` events.
- ``change_vs_baseline``: the label's share in the window exceeds its share in the baseline period
  just before the window by more than ``threshold`` (0.2 = 20 points), both periods holding at least
  ``min_events`` events.

"Above" is strict: a share exactly at the threshold does not fire. A rule fires when its condition
starts to hold and not again until it has cleared (no alert storm while a spike lasts).
"""

from __future__ import annotations

from dataclasses import dataclass

SHARE_ABOVE = "share_above"
CHANGE_VS_BASELINE = "change_vs_baseline"


@dataclass(frozen=True)
class Counts:
    total: int
    matching: int
    baseline_total: int = 0
    baseline_matching: int = 0

    @property
    def share(self) -> float:
        return self.matching / self.total if self.total else 0.0

    @property
    def baseline_share(self) -> float:
        return self.baseline_matching / self.baseline_total if self.baseline_total else 0.0


@dataclass(frozen=True)
class Evaluation:
    holds: bool  # the condition is true now
    fires: bool  # ... and was not before: a new alert
    clears: bool  # it was true and is no longer
    share: float
    baseline_share: float | None


def evaluate(kind: str, threshold: float, min_events: int, counts: Counts, *, was_firing: bool) -> Evaluation:
    if kind == SHARE_ABOVE:
        holds = counts.total >= min_events and counts.share > threshold
        baseline = None
    elif kind == CHANGE_VS_BASELINE:
        enough = counts.total >= min_events and counts.baseline_total >= min_events
        holds = enough and counts.share - counts.baseline_share > threshold
        baseline = counts.baseline_share
    else:
        raise ValueError(f"unknown rule kind {kind!r}")
    return Evaluation(
        holds=holds,
        fires=holds and not was_firing,
        clears=was_firing and not holds,
        share=counts.share,
        baseline_share=baseline,
    )
