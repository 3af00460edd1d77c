# Columns only: the tables' row-level security stays as it is.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="sending_until",
            field=models.DateTimeField(
                blank=True, help_text="Set while a worker sends it: the end of that worker's lease.", null=True
            ),
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="previous_secret",
            field=models.CharField(
                blank=True,
                help_text="The secret before the last rotation; deliveries are signed with it too.",
                max_length=100,
            ),
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="previous_secret_expires_at",
            field=models.DateTimeField(
                blank=True, help_text="Until when deliveries also carry the previous secret's signature.", null=True
            ),
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(fields=["tenant", "sending_until"], name="webhook_delivery_sending"),
        ),
    ]
