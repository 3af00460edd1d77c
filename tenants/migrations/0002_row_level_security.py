from django.db import migrations

from tenants.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        # A user may read their own memberships in any tenant (the tenant switcher), nothing more.
        EnableRowLevelSecurity(
            "tenants_membership", extra_using="user_id::text = current_setting('app.user_id', true)"
        ),
        EnableRowLevelSecurity("tenants_invitation"),
        EnableRowLevelSecurity("tenants_apikey"),
        EnableRowLevelSecurity("tenants_auditevent"),
    ]
