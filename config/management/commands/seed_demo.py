from __future__ import annotations

import io
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from config.demo import DEMO_HYPERPARAMETERS, demo_csv
from projects.models import Dataset, Project, UseCase
from projects.services.datasets import dataset_upload
from tenants import db
from tenants.models import ApiKey, Tenant
from tenants.services import api_key_create, api_key_revoke, tenant_create
from training.services import run_create

DEMO_EMAIL = "demo@tunebase.local"
DEMO_PASSWORD = "tunebase-demo"  # noqa: S105 - a local demo account, refused outside DEBUG
DEMO_KEY_NAME = "make run demo key"


class Command(BaseCommand):
    help = "Create (once) a demo tenant, owner and project; issue a fresh demo API key and print both logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the server will answer.")
        parser.add_argument(
            "--train",
            action="store_true",
            help="On the first seed, upload a demo dataset and queue its training (the worker trains it).",
        )

    def handle(self, *args: Any, url: str, train: bool = False, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo makes an account with a published password: it runs with DEBUG=1 only.")
        User = get_user_model()
        with db.system_context(), transaction.atomic():
            user = User.objects.filter(email=DEMO_EMAIL).first()
            if user is None:
                user = User.objects.create_user(username=DEMO_EMAIL, email=DEMO_EMAIL, password=DEMO_PASSWORD)
                EmailAddress.objects.create(user=user, email=DEMO_EMAIL, verified=True, primary=True)
            tenant = Tenant.objects.filter(slug="demo").first() or tenant_create(name="Demo", owner=user)
            project = Project.objects.for_tenant(tenant).first()
            if project is None:
                project = Project.all_tenants.create(
                    tenant=tenant,
                    name="Support intents",
                    description="Routes customer messages to the right team (demo).",
                    use_case=UseCase.CUSTOMER_SERVICE,
                    created_by=user,
                )
            training = ""
            if train and not Dataset.objects.for_tenant(tenant).filter(project=project).exists():
                data = demo_csv()
                dataset, _ = dataset_upload(
                    tenant=tenant, project=project, stream=io.BytesIO(data), name="demo-intents.csv", size=len(data)
                )
                run_create(
                    tenant=tenant, project=project, dataset_id=dataset.pk, created_by=user, **DEMO_HYPERPARAMETERS
                )
                training = (
                    f"  Demo model training on {dataset.rows_usable} support messages; in about a minute it answers"
                    " in the project's Try it box and its predict API"
                )
            # Keys are shown once: each start issues a new one and revokes the one printed last time.
            for old in ApiKey.objects.for_tenant(tenant).filter(name=DEMO_KEY_NAME, revoked=False):
                api_key_revoke(tenant=tenant, public_id=old.public_id, actor=user)
            _, secret = api_key_create(
                tenant=tenant, name=DEMO_KEY_NAME, scopes=["read", "predict", "manage"], created_by=user
            )
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "  Tunebase (embedded default: SQLite, filesystem broker, Stripe off)",
                    f"  Dashboard  {url}/   log in as {DEMO_EMAIL} / {DEMO_PASSWORD}",
                    f"  API key    {secret}   (new at each start; the previous one is revoked)",
                    f'  Try it     curl -H "Authorization: Api-Key {secret}" {url}/api/v1/projects/',
                    f"  API docs   {url}/api/docs/",
                    *([training] if training else []),
                    "",
                ]
            )
        )
