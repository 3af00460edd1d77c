# The webhook models now belong to the webhooks app (its 0001 migration took over their tables).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("tenants", "0004_webhooks"),
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="WebhookDelivery"),
                migrations.DeleteModel(name="WebhookEndpoint"),
            ],
        ),
    ]
