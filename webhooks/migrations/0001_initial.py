# The webhook models moved here from the tenants app. Their tables already exist (tenants 0004), with
# their row-level security: this migration takes them over in Django's state only, then renames the
# tables to this app's names (PostgreSQL keeps the policies, indexes and foreign keys of a renamed table).

import django.db.models.deletion
import django.db.models.manager
import uuid
from django.conf import settings
from django.db import migrations, models

import webhooks.models


def move_content_types(apps, schema_editor):
    """Admin history and permissions follow the models: their content types change app."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("webhookendpoint", "webhookdelivery"):
        ContentType.objects.filter(app_label="tenants", model=model).update(app_label="webhooks")


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("webhookendpoint", "webhookdelivery"):
        ContentType.objects.filter(app_label="webhooks", model=model).update(app_label="tenants")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("tenants", "0004_webhooks"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='WebhookEndpoint',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('url', models.URLField(max_length=2000)),
                        ('description', models.CharField(blank=True, max_length=200)),
                        ('events', models.JSONField(default=list, help_text='Event types sent to this endpoint, or ["*"] for all.')),
                        ('secret', models.CharField(default=webhooks.models.generate_secret, max_length=100)),
                        ('is_active', models.BooleanField(default=True)),
                        ('disabled_reason', models.CharField(blank=True, max_length=500)),
                        ('consecutive_failures', models.PositiveIntegerField(default=0, help_text='Deliveries in a row that failed after every attempt; a success resets it.')),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.tenant')),
                    ],
                    options={
                        'ordering': ['created_at'],
                        'db_table': 'tenants_webhookendpoint',
                        'abstract': False,
                        'base_manager_name': 'all_tenants',
                        'default_manager_name': 'all_tenants',
                    },
                    managers=[
                        ('all_tenants', django.db.models.manager.Manager()),
                    ],
                ),
                migrations.CreateModel(
                    name='WebhookDelivery',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('event_id', models.CharField(help_text='msg_<hex>: the webhook-id header, the same on retries.', max_length=40)),
                        ('event_type', models.CharField(max_length=60)),
                        ('payload', models.JSONField(help_text='The body sent: type, timestamp, data.')),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], default='pending', max_length=10)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('enqueued_at', models.DateTimeField(blank=True, help_text='When last handed to the broker.', null=True)),
                        ('last_status_code', models.PositiveIntegerField(blank=True, null=True)),
                        ('last_error', models.CharField(blank=True, max_length=500)),
                        ('response_excerpt', models.CharField(blank=True, max_length=500)),
                        ('delivered_at', models.DateTimeField(blank=True, null=True)),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.tenant')),
                        ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='webhooks.webhookendpoint')),
                    ],
                    options={
                        'ordering': ['-created_at'],
                        'db_table': 'tenants_webhookdelivery',
                        'abstract': False,
                        'base_manager_name': 'all_tenants',
                        'default_manager_name': 'all_tenants',
                        'indexes': [models.Index(fields=['tenant', 'endpoint', '-created_at'], name='webhook_delivery_recent'), models.Index(fields=['status', 'next_attempt_at'], name='webhook_delivery_due')],
                        'constraints': [models.UniqueConstraint(fields=('endpoint', 'event_id'), name='webhook_delivery_unique_event')],
                    },
                    managers=[
                        ('all_tenants', django.db.models.manager.Manager()),
                    ],
                ),
            ],
        ),
        migrations.AlterModelTable(name="webhookendpoint", table=None),
        migrations.AlterModelTable(name="webhookdelivery", table=None),
        migrations.RunPython(move_content_types, move_content_types_back, elidable=True),
    ]
