from django.urls import URLPattern, URLResolver, include, path

from tenants import views, views_webhooks

app_name = "dashboard"

tenant_patterns: list[URLPattern | URLResolver] = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("", include("projects.urls")),
    path("", include("projects.urls_datasets")),
    path("", include("training.urls")),
    path("", include("inference.urls")),
    path("members/", views.MemberListView.as_view(), name="member-list"),
    path("members/invite/", views.InvitationCreateView.as_view(), name="member-invite"),
    path("members/<uuid:membership_id>/role/", views.MemberRoleView.as_view(), name="member-role"),
    path("members/<uuid:membership_id>/remove/", views.MemberRemoveView.as_view(), name="member-remove"),
    path("invitations/<uuid:invitation_id>/revoke/", views.InvitationRevokeView.as_view(), name="invitation-revoke"),
    path("api-keys/", views.ApiKeyListView.as_view(), name="api-key-list"),
    path("api-keys/new/", views.ApiKeyCreateView.as_view(), name="api-key-create"),
    path("api-keys/<uuid:public_id>/revoke/", views.ApiKeyRevokeView.as_view(), name="api-key-revoke"),
    path("audit/", views.AuditLogView.as_view(), name="audit-log"),
    path("webhooks/", views_webhooks.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<uuid:endpoint_id>/", views_webhooks.WebhookDetailView.as_view(), name="webhook-detail"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("organizations/new/", views.TenantCreateView.as_view(), name="tenant-create"),
    path("invitations/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation-accept"),
    path("t/<slug:tenant_slug>/", include(tenant_patterns)),
]
