"""Dashboard pages of organizations: ``organizations`` (home, create one), ``members`` (members and
invitations), ``api_keys``, ``audit`` (the audit log). Thin: the services decide and audit, these pages show."""
