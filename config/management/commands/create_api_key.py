from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from projects.models import Project
from tenants import db
from tenants.errors import ServiceError
from tenants.models import Tenant
from tenants.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a tenant. Prints the key (shown only this once) on its last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'helpdesk integration'.")
        parser.add_argument(
            "--scopes",
            default="read,predict,manage",
            help="Comma-separated: read (stored data), predict, manage (implies read).",
        )
        parser.add_argument("--project", help="Limit the key to this project id.")
        parser.add_argument("--expires-in-days", type=int, help="Expire the key after this many days.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        expires = options["expires_in_days"]
        with db.tenant_context(tenant.pk):
            project = None
            if options["project"]:
                try:
                    project_id = uuid.UUID(options["project"])
                except ValueError:
                    raise CommandError(
                        f"--project must be a project id (a UUID), got {options['project']!r}."
                    ) from None
                project = Project.objects.for_tenant(tenant).filter(pk=project_id).first()
                if project is None:
                    raise CommandError(f"No project {options['project']} in tenant {tenant.slug}.")
            try:
                api_key, secret = api_key_create(
                    tenant=tenant,
                    name=options["name"],
                    scopes=scopes,
                    project=project,
                    expires_at=timezone.now() + timedelta(days=expires) if expires else None,
                )
            except ServiceError as error:
                raise CommandError(error.message) from None
        self.stderr.write(f"Created API key {api_key.name!r} ({api_key.prefix}) for {tenant.slug}; store it now.")
        self.stdout.write(secret)
