"""Cursors for the statements every API request runs.

Django's PostgreSQL backend binds parameters on the client (psycopg's `ClientCursor`), so
PostgreSQL parses and plans every statement again: for the hot statements (the token's user,
`/balance`, an earn, an event) planning costs more server CPU than running them (measured in
docs/benchmarks.md, "Prepared statements"). `prepared_cursor()` is `connection.cursor()` with
server-side binding, so psycopg prepares a statement on a connection once it has run it
`DB_PREPARE_THRESHOLD` times (psycopg's `prepare_threshold`) and then only binds and executes
it. Pooled connections live across requests, so each statement is planned about once per
connection. Everything else keeps Django's client-side binding.
"""

from typing import Any

from django.db import connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


def prepared_cursor(using: str = "default") -> CursorWrapper:
    """A cursor whose statements PostgreSQL prepares once per connection; on another database,
    or with DB_PREPARE_THRESHOLD off, the ordinary cursor."""
    connection = connections[using]
    if (
        connection.vendor != "postgresql"
        or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None
    ):
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = connection.connection
        # Django's own create_cursor (it registers the time zone loader where needed), with
        # psycopg's server-binding cursor class for this one cursor. The raw connection belongs
        # to this thread while it holds it.
        factory = raw.cursor_factory
        raw.cursor_factory = ServerBindingCursor
        try:
            cursor = connection.create_cursor()
        finally:
            raw.cursor_factory = factory
        connection.validate_thread_sharing()
        if connection.queries_logged:
            return _PreparedDebugWrapper(cursor, connection)
        return connection.make_cursor(cursor)


class _PreparedDebugWrapper(CursorDebugWrapper):
    """Django's query log (DEBUG, the tests' CaptureQueriesContext) for a server-binding cursor:
    the statement with its values quoted in, as the log shows Django's own statements (psycopg
    keeps no such text for a statement bound on the server)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        from psycopg import ClientCursor

        with ClientCursor(self.db.connection) as quoting:
            text = quoting.mogrify(sql, params)
        with self.debug_sql(text, params):
            return CursorWrapper.execute(self, sql, params)
