"""The analyst role reads the pipeline's runs and reports and may queue a run.

Queuing a run is `analytics.add_pipelinerun` (a run row is what a trigger creates).
"""

from django.db import migrations

ANALYST = [
    ("analytics", "pipelinerun", "view_pipelinerun", "Can view pipeline run"),
    ("analytics", "pipelinerun", "add_pipelinerun", "Can add pipeline run"),
    ("analytics", "roasdaily", "view_roasdaily", "Can view ROAS per day and campaign"),
    ("analytics", "roasanomaly", "view_roasanomaly", "Can view ROAS anomaly"),
    ("analytics", "arpdaudaily", "view_arpdaudaily", "Can view ARPDAU per day and campaign"),
    ("analytics", "arpdautotal", "view_arpdautotal", "Can view ARPDAU per day"),
    (
        "analytics",
        "reconciliationsummary",
        "view_reconciliationsummary",
        "Can view reconciliation summary",
    ),
]


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name="analyst")
    for app_label, model, codename, name in ANALYST:
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name="analyst").first()
    if group is not None:
        codenames = [codename for app_label, _, codename, _ in ANALYST]
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="analytics", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_staff_roles"),
        ("analytics", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
