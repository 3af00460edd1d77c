"""A project's first steps, for its page: create it, upload data, check it, train, deploy, call the API.

Each step is done or not from the data itself, never from a flag someone must remember to set. This app
knows its datasets and (from billing, below it) whether the predict API was called for the project; what
training and serving know reaches it as facts in the page's context, added by their page sections
(``add_project_page_section``): ``run_succeeded`` and ``version_deployed`` from training. The checklist is
gone once every step is done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from billing.models import UsageKind, UsageRecord, UsageSource
from projects.models import Dataset, DatasetStatus, Project
from tenants.models import Tenant


@dataclass(frozen=True)
class Step:
    title: str
    done: bool
    url: str  # where to do it
    action: str  # the link's words
    hint: str = ""


@dataclass(frozen=True)
class Checklist:
    steps: list[Step]

    @property
    def done(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def next(self) -> Step | None:
        return next((step for step in self.steps if not step.done), None)


def api_called(*, tenant: Tenant, project: Project) -> bool:
    """Whether the project's predict API has answered a call (its billed usage; the try-it box is not)."""
    return (
        UsageRecord.objects.for_tenant(tenant)
        .filter(project=project, kind=UsageKind.PREDICTION, source=UsageSource.API)
        .exists()
    )


def checklist(*, tenant: Tenant, project: Project, facts: Mapping[str, Any]) -> Checklist | None:
    """The project's first steps, each done or not; None once all are done (the page then shows none)."""
    trained, deployed = bool(facts.get("run_succeeded")), bool(facts.get("version_deployed"))
    called = deployed and api_called(tenant=tenant, project=project)
    if trained and deployed and called:
        return None
    latest = Dataset.objects.for_tenant(tenant).filter(project=project).order_by("-created_at").first()
    ready = (
        Dataset.objects.for_tenant(tenant)
        .filter(project=project, status=DatasetStatus.READY)
        .order_by("-created_at")
        .first()
    )
    here = {"tenant_slug": tenant.slug, "project_id": project.pk}
    datasets_url = reverse("dashboard:dataset-list", kwargs=here)
    check_url, check_hint = datasets_url, "Its data check finds what would spoil training."
    if latest is not None and ready is None:
        check_url = reverse("dashboard:dataset-detail", kwargs={**here, "dataset_id": latest.pk})
        check_hint = (
            "It is being checked."
            if latest.status == DatasetStatus.CHECKING
            else "Its check found problems: fix them, or upload a corrected file."
        )
    train_url = reverse("dashboard:run-list", kwargs=here) + (f"?dataset={ready.pk}" if ready else "")
    steps = [
        Step("Create a project", True, reverse("dashboard:project-detail", kwargs=here), "Project"),
        Step(
            "Upload labeled texts",
            latest is not None,
            datasets_url,
            "Upload a dataset",
            "A CSV, TSV or JSON Lines file with a text and its label on each row.",
        ),
        Step("Check the data", ready is not None, check_url, "Read the data check", check_hint),
        Step("Train a model", trained, train_url, "Start a training run", "A few minutes on a small dataset."),
        Step(
            "Deploy a version",
            deployed,
            reverse("dashboard:model-list", kwargs=here),
            "Choose the version to serve",
            "A project's first model is deployed as soon as it is trained.",
        ),
        Step(
            "Call the API",
            called,
            "#api",
            "See the code",
            "With an API key that has the predict scope.",
        ),
    ]
    return Checklist(steps)
