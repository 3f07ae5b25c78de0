"""A queryset's one-row lookup compiled to SQL once per database connection.

Every API request reads the same few rows the same way (the token's user, a currency by code).
Django builds and compiles a queryset's SQL on every call, which costs more CPU than the query
itself; `CompiledGet` compiles it once per connection (each thread has its own) and then only
binds the value, runs the SQL, applies the backend's converters and builds the instance with
`Model.from_db`, as the queryset would. What the queryset selects, its annotations and the
instance it returns are the queryset's own: only the compilation is cached.
"""

from collections.abc import Callable
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from django.core.exceptions import MultipleObjectsReturned
from django.db import connections
from django.db.models import Field, Model, QuerySet

from core.db import prepared_cursor

M = TypeVar("M", bound=Model)

_MARK = "\x00compiled-get-value\x00"


class _Plan:
    __slots__ = (
        "_compiler",
        "annotations",
        "converters",
        "field_names",
        "index",
        "model",
        "model_columns",
        "params",
        "sql",
        "target",
    )

    def __init__(self, queryset: QuerySet[Any], field: str, alias: str) -> None:
        target = queryset.model._meta.get_field(field)
        if not isinstance(target, Field):
            raise ValueError(f"{field} is not a field of {queryset.model.__name__}")
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        marks = [i for i, param in enumerate(params) if param == _MARK]
        if len(marks) != 1:
            raise ValueError("the lookup value must appear once among the query's parameters")
        klass_info = compiler.klass_info
        if klass_info is None or klass_info.get("related_klass_infos"):
            raise ValueError("CompiledGet reads one model without select_related")
        select = compiler.select
        fields = klass_info["select_fields"]
        self.model = queryset.model
        self.target = target
        self.sql = sql
        self.params = list(params)
        self.index = marks[0]
        self.model_columns = slice(fields[0], fields[-1] + 1)
        self.field_names = [select[i][0].target.attname for i in fields]
        self.annotations = list(compiler.annotation_col_map.items())
        self.converters = compiler.get_converters([column for column, _, _ in select])
        self._compiler = compiler

    def rows(self, rows: list[Any]) -> list[Any]:
        if not self.converters:
            return rows
        return list(self._compiler.apply_converters(rows, self.converters))


class CompiledGet(Generic[M]):
    """`build().get(**{field: value})`, or None where no row matches, with the SQL compiled once
    per connection of `using`. `field` is a text field (its lookup value is marked by a string
    while compiling). `build` must return the same query every time (no value that changes
    between calls: a time, a setting read at call time)."""

    def __init__(self, build: Callable[[], QuerySet[M]], field: str, using: str = "default"):
        self._build = build
        self._field = field
        self._using = using
        self._plans: WeakKeyDictionary[Any, _Plan] = WeakKeyDictionary()

    def get(self, value: Any, *, counted: tuple[str, list[Any]] | None = None) -> M | None:
        """The row, or None. `counted` is a data-modifying CTE named `counted` that reads the
        row as the CTE `found` and returns one value, with its parameters: it runs in the same
        statement (one round trip), and its value becomes the instance's `counted` attribute
        (None when it returned no row)."""
        connection = connections[self._using]
        plan = self._plans.get(connection)
        if plan is None:
            queryset = self._build().filter(**{self._field: _MARK})[:2]
            plan = self._plans[connection] = _Plan(queryset, self._field, self._using)
        params = plan.params.copy()
        # As the queryset's exact lookup prepares it (a CharField's value becomes its str).
        params[plan.index] = plan.target.get_db_prep_value(value, connection, prepared=False)
        sql = plan.sql
        if counted is not None:
            counted_sql, counted_params = counted
            # Both parts are statements of this code; values are parameters.
            sql = (
                f"WITH found AS ({plan.sql}), {counted_sql} "  # noqa: S608
                "SELECT found.*, (SELECT * FROM counted) FROM found"
            )
            params.extend(counted_params)
        with prepared_cursor(self._using) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not rows:
            return None
        if len(rows) > 1:
            raise MultipleObjectsReturned(f"{self._field}={value!r} matches more than one row")
        [fetched] = rows
        extra = None
        if counted is not None:
            fetched, extra = fetched[:-1], fetched[-1]
        [row] = plan.rows([fetched])
        instance: M = plan.model.from_db(self._using, plan.field_names, row[plan.model_columns])
        for name, position in plan.annotations:
            setattr(instance, name, row[position])
        if counted is not None:
            instance.counted = extra  # type: ignore[attr-defined]
        return instance
