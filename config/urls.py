from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from billing import urls as billing_pages
from billing.api import urls as billing_api
from config import health, observability
from inference import urls as inference_pages
from inference.api import urls as inference_api
from projects import urls as project_pages
from projects.api import urls as projects_api
from tenants import urls as tenant_pages
from training import urls as training_pages
from training.api import urls as training_api
from webhooks import urls as webhook_pages
from webhooks.api import urls as webhooks_api

# This module composes the apps: each owns its API routes (``<app>/api/urls.py``) and its dashboard pages
# (``<app>/urls.py``); none includes another's.
api_v1: list[URLPattern | URLResolver] = [
    *inference_api.hot_path,  # first: see inference/api/urls.py
    *projects_api.urlpatterns,
    *webhooks_api.urlpatterns,
    *training_api.urlpatterns,
    *inference_api.urlpatterns,
    *billing_api.urlpatterns,
]

# The dashboard, all under the "dashboard" namespace; an organization's pages under /t/<slug>/.
organization_pages: list[URLPattern | URLResolver] = [
    *project_pages.urlpatterns,
    *training_pages.urlpatterns,
    *inference_pages.urlpatterns,
    *tenant_pages.organization_patterns,
    *webhook_pages.urlpatterns,
    *billing_pages.urlpatterns,
]
dashboard: list[URLPattern | URLResolver] = [
    *tenant_pages.urlpatterns,
    path("t/<slug:tenant_slug>/", include(organization_pages)),
]

# The admin is the operators' console.
admin.site.site_header = "Tunebase operators"
admin.site.site_title = "Tunebase operators"
admin.site.index_title = "Every tenant, plan, usage, queue and run"


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers and feed readers ask for /favicon.ico whatever the page links: the static icon."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", observability.metrics_view, name="metrics"),
    *billing_pages.webhook_patterns,
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include((dashboard, "dashboard"))),
]

# Stored files (MEDIA_ROOT) are never served by URL, in development either: downloads go through views
# that check the tenant and the role.

handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
