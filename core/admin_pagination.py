"""Admin pagination for tables that grow to millions of rows (players, ledger, events).

Django's changelist counts the filtered queryset to draw its paginator; on PostgreSQL a COUNT(*)
over a big table is a full scan. This paginator counts at most `COUNT_CAP` rows and, beyond
that, shows the planner's estimate for an unfiltered list or the cap for a filtered one.
Use it with `show_full_result_count = False` so the second, unfiltered count is skipped too.
When the count stopped at the cap, `capped` is True and the page says "more than 10,000" (see
liveops/templates/admin/pagination.html) rather than a made-up exact number. A list that knows its
exact count cheaply (from aggregates) passes it as `known_count`.
"""

from typing import Any

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    capped = False
    known_count: int | None = None

    @cached_property
    def count(self) -> int:
        if self.known_count is not None:
            return self.known_count
        queryset: QuerySet[Any] = self.object_list  # type: ignore[assignment]
        capped = queryset[: COUNT_CAP + 1].count()
        if capped <= COUNT_CAP:
            return capped
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] and row[0] > COUNT_CAP:
                return int(row[0])
        self.capped = True
        return COUNT_CAP
