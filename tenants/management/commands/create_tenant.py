from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from tenants import db
from tenants.errors import ServiceError
from tenants.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant with an owner (created with an unusable password if new). Prints the slug last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The organization's name.")
        parser.add_argument("--owner", required=True, help="The owner's email; an account is created if none.")

    def handle(self, *args: Any, name: str, owner: str, **options: Any) -> None:
        email = owner.strip().lower()
        if "@" not in email:
            raise CommandError(f"--owner must be an email address, got {owner!r}.")
        User = get_user_model()
        with db.system_context(), transaction.atomic():
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                user = User.objects.create_user(username=email[:150], email=email)
                self.stderr.write(f"Created user {email} (no password yet: they set one with 'Forgot password').")
            try:
                tenant = tenant_create(name=name, owner=user)
            except ServiceError as error:
                raise CommandError(error.message) from None
        self.stderr.write(f"Created tenant {tenant.name!r} owned by {email}.")
        self.stdout.write(tenant.slug)
