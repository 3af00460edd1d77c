from django.urls import include, path

from tenants import views

app_name = "dashboard"

tenant_patterns = [
    path("", views.OverviewView.as_view(), name="overview"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("t/<slug:tenant_slug>/", include(tenant_patterns)),
]
