from django.db import migrations

from tenants.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("projects", "0002_initial")]

    operations = [EnableRowLevelSecurity("projects_project")]
