"""What training tells the layers above it, which it does not import (serving hooks in from its AppConfig).

- ``model_deployed(version)``: sent after the commit of a deploy or rollback made through a service call
  in this process (the dashboard or the API). A version a worker deploys by itself (a project's first)
  sends nothing: web processes pick it up with their periodic warmer.
- ``artifact_trained(artifact_dir, base_model_path)``: sent on the worker once a run's artifact is
  written, before its version is stored. A receiver may answer with a ``ServingChoice``: the precision
  the version should be served in, and the parity report behind it. With no answer it serves in fp32.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.dispatch import Signal

model_deployed = Signal()
artifact_trained = Signal()


@dataclass(frozen=True)
class ServingChoice:
    precision: str
    parity: dict[str, Any] = field(default_factory=dict)


FP32_CHOICE = ServingChoice(precision="fp32")


def serving_choice(*, artifact_dir: str, base_model_path: str) -> ServingChoice:
    """The first ``ServingChoice`` a receiver of ``artifact_trained`` answers with, else fp32."""
    for _receiver, answer in artifact_trained.send(
        sender=ServingChoice, artifact_dir=artifact_dir, base_model_path=base_model_path
    ):
        if isinstance(answer, ServingChoice):
            return answer
    return FP32_CHOICE
