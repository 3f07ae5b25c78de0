from django.db import migrations


def coins_create(apps, schema_editor):
    Currency = apps.get_model("economy", "Currency")
    Currency.objects.get_or_create(code="coins", defaults={"name": "Coins"})


class Migration(migrations.Migration):
    dependencies = [("economy", "0001_initial")]

    # The reverse keeps the row: wallets may already point at it.
    operations = [migrations.RunPython(coins_create, migrations.RunPython.noop)]
