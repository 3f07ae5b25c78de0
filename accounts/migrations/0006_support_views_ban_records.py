"""The support role, which bans and unbans, reads the ban records on the player page."""

from django.db import migrations

SUPPORT = [("accounts", "banrecord", "view_banrecord", "Can view ban record")]


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name="support")
    for app_label, model, codename, name in SUPPORT:
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name="support").first()
    if group is not None:
        codenames = [codename for _, _, codename, _ in SUPPORT]
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_banrecord")]

    operations = [migrations.RunPython(grant, revoke)]
