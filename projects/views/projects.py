"""Dashboard pages of projects: list and create, detail, edit, delete. Thin: the services do the work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.generic import TemplateView

from projects import onboarding, selectors, services
from projects.forms import ProjectForm
from projects.models import Project, UseCase
from projects.views.base import ProjectTenantView
from tenants.errors import NotFound, ServiceError
from tenants.forms import add_service_error
from tenants.listing import page_of
from tenants.models import Role, Tenant
from tenants.reauthentication import sudo_post

# What the layers above add to a project's page (the version being served, monitors): each registers a
# function of (tenant, project) returning template context, from its AppConfig.ready(), so that this app
# needs no import of them.
PageSection = Callable[[Tenant, Project], dict[str, Any]]
_page_sections: list[PageSection] = []


def add_project_page_section(section: PageSection) -> None:
    if section not in _page_sections:
        _page_sections.append(section)


class ProjectListView(ProjectTenantView, TemplateView):
    template_name = "projects/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ProjectForm())
        q = self.request.GET.get("q", "").strip()
        use_case = self.request.GET.get("use_case", "")
        if use_case and use_case not in UseCase.values:
            context["bad_filter"] = f"Use case must be one of {', '.join(UseCase.values)}."
            use_case = ""
        listing = page_of(self.request, selectors.projects_matching(tenant=self.tenant, q=q, use_case=use_case))
        context.update(
            listing=listing,
            projects=listing.items,
            q=q,
            use_case=use_case,
            use_cases=UseCase.choices,
            filtered=bool(q or use_case),
            can_write=self.can_write,
        )
        return context

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=400 if "bad_filter" in context else 200)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ProjectForm(request.POST)
        if form.is_valid():
            try:
                project = services.project_create(tenant=self.tenant, created_by=self.user, **form.cleaned_data)
            except ServiceError as error:
                add_service_error(form, error)
            else:
                messages.success(request, f"Project “{project.name}” created.")
                return redirect("dashboard:project-detail", tenant_slug=self.tenant.slug, project_id=project.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ProjectDetailView(ProjectTenantView, TemplateView):
    template_name = "projects/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        context.update(
            project=project,
            can_write=self.can_write,
            api_url=self.request.build_absolute_uri(f"/api/v1/projects/{project.pk}/predict/"),
        )
        for section in _page_sections:
            context.update(section(self.tenant, project))
        context["onboarding"] = onboarding.checklist(tenant=self.tenant, project=project, facts=context)
        return context


class ProjectEditView(ProjectTenantView, TemplateView):
    breadcrumb = "Edit"
    read_role = Role.MEMBER
    template_name = "projects/edit.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        initial = {field: getattr(project, field) for field in services.EDITABLE_FIELDS}
        context.setdefault("form", ProjectForm(initial=initial))
        context["project"] = project
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        form = ProjectForm(request.POST)
        if form.is_valid():
            try:
                services.project_update(tenant=self.tenant, project_id=project.pk, **form.cleaned_data)
            except NotFound as error:
                raise Http404(error.message) from None
            except ServiceError as error:
                add_service_error(form, error)
            else:
                messages.success(request, "Project settings saved.")
                return redirect("dashboard:project-detail", tenant_slug=self.tenant.slug, project_id=project.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ProjectDeleteView(ProjectTenantView, TemplateView):
    read_role = Role.MEMBER
    template_name = "projects/delete.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["project"] = self.get_project()
        return context

    @sudo_post()
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        try:
            services.project_delete(tenant=self.tenant, project_id=UUID(str(project.pk)), actor=self.user)
        except NotFound as error:
            raise Http404(error.message) from None
        messages.success(request, f"Project “{project.name}” deleted, with its datasets.")
        return redirect("dashboard:project-list", tenant_slug=self.tenant.slug)
