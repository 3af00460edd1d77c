"""Dashboard URLs of organizations: members, invitations, API keys, the audit log (config/urls.py composes
them under the "dashboard" namespace; ``organization_patterns`` go under ``/t/<slug>/``)."""

from django.urls import URLPattern, URLResolver, path

from tenants.views import api_keys, audit, delete, export, members, organizations

organization_patterns: list[URLPattern | URLResolver] = [
    path("members/", members.MemberListView.as_view(), name="member-list"),
    path("members/invite/", members.InvitationCreateView.as_view(), name="member-invite"),
    path("members/<uuid:membership_id>/role/", members.MemberRoleView.as_view(), name="member-role"),
    path("members/<uuid:membership_id>/remove/", members.MemberRemoveView.as_view(), name="member-remove"),
    path("invitations/<uuid:invitation_id>/revoke/", members.InvitationRevokeView.as_view(), name="invitation-revoke"),
    path("api-keys/", api_keys.ApiKeyListView.as_view(), name="api-key-list"),
    path("api-keys/new/", api_keys.ApiKeyCreateView.as_view(), name="api-key-create"),
    path("api-keys/<uuid:public_id>/revoke/", api_keys.ApiKeyRevokeView.as_view(), name="api-key-revoke"),
    path("audit/", audit.AuditLogView.as_view(), name="audit-log"),
    path("delete/", delete.TenantDeleteView.as_view(), name="tenant-delete"),
    path("export/", export.TenantExportView.as_view(), name="tenant-export"),
]

urlpatterns = [
    path("", organizations.home, name="home"),
    path("organizations/new/", organizations.TenantCreateView.as_view(), name="tenant-create"),
    path("invitations/<str:token>/", members.InvitationAcceptView.as_view(), name="invitation-accept"),
]
