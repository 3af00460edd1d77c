"""Dashboard URLs of organizations: members, invitations, API keys, the audit log (config/urls.py composes
them under the "dashboard" namespace; ``organization_patterns`` go under ``/t/<slug>/``)."""

from django.urls import URLPattern, URLResolver, path

from tenants import views

organization_patterns: list[URLPattern | URLResolver] = [
    path("members/", views.MemberListView.as_view(), name="member-list"),
    path("members/invite/", views.InvitationCreateView.as_view(), name="member-invite"),
    path("members/<uuid:membership_id>/role/", views.MemberRoleView.as_view(), name="member-role"),
    path("members/<uuid:membership_id>/remove/", views.MemberRemoveView.as_view(), name="member-remove"),
    path("invitations/<uuid:invitation_id>/revoke/", views.InvitationRevokeView.as_view(), name="invitation-revoke"),
    path("api-keys/", views.ApiKeyListView.as_view(), name="api-key-list"),
    path("api-keys/new/", views.ApiKeyCreateView.as_view(), name="api-key-create"),
    path("api-keys/<uuid:public_id>/revoke/", views.ApiKeyRevokeView.as_view(), name="api-key-revoke"),
    path("audit/", views.AuditLogView.as_view(), name="audit-log"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("organizations/new/", views.TenantCreateView.as_view(), name="tenant-create"),
    path("invitations/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation-accept"),
]
