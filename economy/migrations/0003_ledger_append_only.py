"""The ledger refuses UPDATE and DELETE in the database itself, whoever connects.

TRUNCATE is left to database administrators (and test teardown on PostgreSQL uses it).
On SQLite, a later migration that remakes the ledger table would drop these triggers:
economy/tests/test_models.py fails if that ever happens.
"""

from django.db import migrations

POSTGRESQL_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION economy_ledgerentry_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'economy_ledgerentry is append-only: % refused', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$
    """,
    """
    CREATE TRIGGER economy_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON economy_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION economy_ledgerentry_refuse_change()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS economy_ledgerentry_append_only ON economy_ledgerentry",
    "DROP FUNCTION IF EXISTS economy_ledgerentry_refuse_change()",
]

SQLITE_FORWARD = [
    """
    CREATE TRIGGER economy_ledgerentry_no_update BEFORE UPDATE ON economy_ledgerentry
    BEGIN SELECT RAISE(ABORT, 'economy_ledgerentry is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER economy_ledgerentry_no_delete BEFORE DELETE ON economy_ledgerentry
    BEGIN SELECT RAISE(ABORT, 'economy_ledgerentry is append-only: DELETE refused'); END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS economy_ledgerentry_no_update",
    "DROP TRIGGER IF EXISTS economy_ledgerentry_no_delete",
]

STATEMENTS = {
    "postgresql": (POSTGRESQL_FORWARD, POSTGRESQL_REVERSE),
    "sqlite": (SQLITE_FORWARD, SQLITE_REVERSE),
}


def _run(schema_editor, direction):
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        raise RuntimeError(f"no append-only ledger triggers written for {vendor!r}")
    for statement in STATEMENTS[vendor][direction]:
        # No params: the PL/pgSQL body has a literal % that must not be read as a placeholder.
        schema_editor.execute(statement, params=None)


def triggers_create(apps, schema_editor):
    _run(schema_editor, 0)


def triggers_drop(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("economy", "0002_coins")]

    operations = [migrations.RunPython(triggers_create, triggers_drop)]
