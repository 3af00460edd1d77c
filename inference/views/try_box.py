"""The try-it box on a project's page: one text, the served version's answer; free and counted against no
quota, with its own small rate limit per member (``TRY_BOX_RATE_PER_USER`` a minute)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from inference.api.throttles import minute_window_wait
from inference.services.predict import predict
from projects.views.base import ProjectTenantView
from tenants.errors import ServiceError
from tenants.models import Role


class ProjectTryView(ProjectTenantView):
    read_role = Role.VIEWER
    write_role = Role.VIEWER  # a try changes nothing

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        text = request.POST.get("text", "")
        context: dict[str, Any] = {
            "tenant": self.tenant,
            "membership": self.membership,
            "breadcrumbs": self.get_breadcrumbs(),
            "breadcrumb": "Try it",
            "project": project,
            "text": text,
        }
        status = 200
        wait = None
        if text.strip():
            wait = minute_window_wait(f"try:{request.user.pk}", settings.TRY_BOX_RATE_PER_USER)
        if not text.strip():
            context["error"] = "Type a text to classify."
            status = 400
        elif wait is not None:
            context["error"] = (
                f"The try-it box takes {settings.TRY_BOX_RATE_PER_USER} texts a minute; try again in {wait:.0f} s, "
                "or use the predict API for more."
            )
            status = 429
        elif len(text) > settings.PREDICT_MAX_TEXT_CHARS:
            context["error"] = (
                f"That text is {len(text):,} characters long; at most {settings.PREDICT_MAX_TEXT_CHARS:,}."
            )
            status = 400
        else:
            try:
                result = predict(project=project, texts=[text], top_k=5, billable=False)
            except ServiceError as error:
                context["error"] = error.message
                status = 409 if error.status == 409 else 400
            else:
                context.update(prediction=result["predictions"][0], served=result["model_version"])
        template = "inference/_try_result.html" if getattr(request, "htmx", False) else "inference/try.html"
        return render(request, template, context, status=status)
