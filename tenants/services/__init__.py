"""Writes for tenants, memberships, invitations, API keys and the audit log.

Every function is keyword-only, names its tenant, runs in one transaction and records the audit
event of what it did in that same transaction. The modules: ``organizations``, ``members``
(invitations and memberships), ``api_keys``, ``audit``."""

from tenants.services.api_keys import (
    ApiKeyRejected,
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    api_key_touch,
)
from tenants.services.audit import audit_record
from tenants.services.members import (
    INVITATION_LIFETIME,
    invitation_accept,
    invitation_by_token,
    invitation_create,
    invitation_revoke,
    membership_change_role,
    membership_remove,
)
from tenants.services.organizations import tenant_create, tenant_set_active

__all__ = [
    "INVITATION_LIFETIME",
    "ApiKeyRejected",
    "api_key_authenticate",
    "api_key_create",
    "api_key_revoke",
    "api_key_touch",
    "audit_record",
    "invitation_accept",
    "invitation_by_token",
    "invitation_create",
    "invitation_revoke",
    "membership_change_role",
    "membership_remove",
    "tenant_create",
    "tenant_set_active",
]
