"""CSV downloads of the report pages' tables, by one convention for every page.

A report view serves its page and, for `?format=csv&table=<name>` on the same URL and with the
same query (date range, campaigns), the CSV of that one table: same permissions as the page,
streamed through `core.csv_export.csv_download` (formula-injection prefixes, exact numbers).

To give a page's table a download:

1. decorate the view with `@report_permissions("app.view_model", ...)` (a role without them
   gets 403: the page's usual 403, or an empty 403 for a CSV request);
2. in the view, once the form and the data's range are known::

       if wants_csv(request):
           return csv_table_response(request, form=form, tables=[
               CsvTable("rows", f"retention_{low}_{high}", ("day", ...), lambda: (...)),
           ])

   `rows` is called only for the table asked for, and may be a generator (it is consumed while
   the response streams);
3. put `"csv_query": csv_query(...)` in the page context (the range and filters on screen), and
   `{% include "admin/reports/_csv_link.html" with table="rows" %}` beside the table.

A bound form with errors (a bad range) answers 400 with the form's messages, in plain text; an
unknown `table` answers 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from core.csv_export import csv_download

CSV_FORMAT = "csv"


@dataclass(frozen=True)
class CsvTable:
    """One table of a page as CSV: `name` is the `?table=` value, `filename` the download's
    name without `.csv` (ASCII, no quotes or slashes)."""

    name: str
    filename: str
    header: Sequence[str]
    rows: Callable[[], Iterable[Sequence[Any]]]


def wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == CSV_FORMAT


def csv_query(*pairs: tuple[str, object]) -> str:
    """The query of a page's download links: its filters as shown, then `format=csv`; the
    link template appends `&table=<name>`."""
    return urlencode([(name, str(value)) for name, value in pairs] + [("format", CSV_FORMAT)])


def _form_errors(form: forms.Form) -> str:
    messages = [str(message) for message in form.non_field_errors()]
    for name, errors in form.errors.items():
        if name != NON_FIELD_ERRORS:
            messages += [f"{form.fields[name].label or name}: {message}" for message in errors]
    return "\n".join(messages) + "\n"


def csv_table_response(
    request: HttpRequest, *, form: forms.Form | None, tables: Sequence[CsvTable]
) -> HttpResponseBase:
    """The streamed CSV of the table named in `?table=`, or a 400 for a bad form, a 404 for an
    unknown table (both plain text)."""
    if form is not None and form.is_bound and not form.is_valid():
        return HttpResponse(
            _form_errors(form), status=400, content_type="text/plain; charset=utf-8"
        )
    by_name = {table.name: table for table in tables}
    table = by_name.get(request.GET.get("table", ""))
    if table is None:
        known = ", ".join(sorted(by_name))
        return HttpResponse(
            f"Unknown table; this page has: {known}.\n",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    return csv_download(filename=f"{table.filename}.csv", header=table.header, rows=table.rows())


View = Callable[[HttpRequest], HttpResponseBase]


def report_permissions(*permissions: str) -> Callable[[View], View]:
    """Let through only users with every permission: otherwise the admin's 403 page, or an
    empty 403 for a CSV request (nothing of the table leaves)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest) -> HttpResponseBase:
            if not request.user.has_perms(permissions):
                if wants_csv(request):
                    return HttpResponse(status=403)
                raise PermissionDenied
            return view(request)

        return checked

    return decorate
