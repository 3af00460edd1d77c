from django.urls import URLPattern, URLResolver, include, path

from tenants import views

app_name = "dashboard"

tenant_patterns: list[URLPattern | URLResolver] = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("", include("projects.urls_datasets")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("t/<slug:tenant_slug>/", include(tenant_patterns)),
]
