"""Which tests can reach the database: bin/test's PostgreSQL pass runs only those."""

# A test reaches the database only through one of these fixtures (pytest-django blocks every
# other access), or through the django_db mark.
DATABASE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "live_server",
    }
)


def uses_database(item) -> bool:
    """Whether the test may touch the database; anything unknown counts as touching it."""
    fixtures = getattr(item, "fixturenames", None)
    if fixtures is None:
        return True
    return (
        bool(DATABASE_FIXTURES & set(fixtures))
        or item.get_closest_marker("django_db") is not None
        or item.get_closest_marker("postgres") is not None
    )
