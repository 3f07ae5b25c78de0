"""Staff roles as groups: support, economy and (in 0004) analyst.

Permissions are normally created by post_migrate, after every migration has run, so on a fresh
database they do not exist yet here: the rows are created (get_or_create) by this migration, with
the names Django would give them; post_migrate then finds them and creates nothing twice.
"""

from django.db import migrations

# (app_label, model, codename, name), frozen here so that the migration means the same thing
# forever; later changes to a role are new migrations.
SUPPORT = [
    ("accounts", "user", "view_user", "Can view user"),
    ("accounts", "user", "ban_player", "Can ban and unban players"),
    ("economy", "wallet", "view_wallet", "Can view wallet"),
    ("economy", "ledgerentry", "view_ledgerentry", "Can view ledger entry"),
    ("telemetry", "event", "view_event", "Can view event"),
    ("telemetry", "click", "view_click", "Can view click"),
    ("telemetry", "playerattribution", "view_playerattribution", "Can view player attribution"),
]
ECONOMY = [
    ("accounts", "user", "view_user", "Can view user"),
    ("economy", "wallet", "view_wallet", "Can view wallet"),
    ("economy", "wallet", "adjust_wallet", "Can adjust a wallet balance (staff adjustment)"),
    ("economy", "ledgerentry", "view_ledgerentry", "Can view ledger entry"),
    ("economy", "currency", "view_currency", "Can view currency"),
    ("economy", "currency", "add_currency", "Can add currency"),
    ("economy", "currency", "change_currency", "Can change currency"),
    ("economy", "earnrule", "view_earnrule", "Can view earn rule"),
    ("economy", "earnrule", "add_earnrule", "Can add earn rule"),
    ("economy", "earnrule", "change_earnrule", "Can change earn rule"),
    ("economy", "earnrule", "delete_earnrule", "Can delete earn rule"),
]
ANALYST = [
    ("economy", "ledgerentry", "view_ledgerentry", "Can view ledger entry"),
    ("telemetry", "event", "view_event", "Can view event"),
    ("telemetry", "click", "view_click", "Can view click"),
    ("telemetry", "playerattribution", "view_playerattribution", "Can view player attribution"),
]
ROLES = {"support": SUPPORT, "economy": ECONOMY, "analyst": ANALYST}


def grant(apps, roles):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for role, permissions in roles.items():
        group, _ = Group.objects.get_or_create(name=role)
        for app_label, model, codename, name in permissions:
            content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
            permission, _ = Permission.objects.get_or_create(
                content_type=content_type, codename=codename, defaults={"name": name}
            )
            group.permissions.add(permission)


def roles_create(apps, schema_editor):
    grant(apps, ROLES)


def roles_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_ban_player_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("economy", "0001_initial"),
        ("telemetry", "0001_initial"),
    ]

    operations = [migrations.RunPython(roles_create, roles_delete)]
