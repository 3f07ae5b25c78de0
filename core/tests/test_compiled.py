"""CompiledGet returns what the queryset's get() returns, compiling the SQL once per connection."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import MultipleObjectsReturned
from django.db import connection
from django.db.models import Value
from django.db.models.functions import Concat
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from core.compiled import CompiledGet
from economy.models import Currency
from economy.selectors import PLAYERS_WITH_BALANCES, players_with_balances

pytestmark = pytest.mark.django_db

User = get_user_model()


def model_state(instance):
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.fields}


def test_the_instance_is_the_querysets_own():
    joined = datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=UTC)
    User.objects.create(username="ada", is_active=False, date_joined=joined, first_name="Ada")
    lookup = CompiledGet(lambda: User.objects.all(), "username")

    user = lookup.get("ada")

    expected = User.objects.get(username="ada")
    assert type(user) is User
    assert model_state(user) == model_state(expected)
    assert user.date_joined == joined  # the backend's converters ran (SQLite stores text)
    assert user.is_active is False
    assert user._state.db == "default"
    assert user._state.adding is False


def test_annotations_are_set_as_the_queryset_sets_them():
    User.objects.create(username="bo", first_name="Bo", last_name="Li")
    lookup = CompiledGet(
        lambda: User.objects.annotate(full=Concat("first_name", Value(" "), "last_name")),
        "username",
    )

    assert lookup.get("bo").full == "Bo Li"


def test_the_balances_lookup_matches_the_queryset(player):
    Currency.objects.create(code="gems", name="Gems")

    user = PLAYERS_WITH_BALANCES.get(player.username)

    expected = players_with_balances().get(username=player.username)
    assert model_state(user) == model_state(expected)
    assert user.balances_json == expected.balances_json


def test_no_row_is_none_and_two_rows_raise():
    User.objects.create(username="c1", first_name="Twin")
    User.objects.create(username="c2", first_name="Twin")
    lookup = CompiledGet(lambda: User.objects.all(), "first_name")

    assert lookup.get("Nobody") is None
    with pytest.raises(MultipleObjectsReturned):
        lookup.get("Twin")


def test_the_value_is_prepared_as_the_field_prepares_it():
    # A token's "sub" may be a JSON number: the ORM compares it as text; so must the lookup.
    User.objects.create(username="123")
    lookup = CompiledGet(lambda: User.objects.all(), "username")

    assert lookup.get(123).username == "123"


def test_the_sql_is_compiled_once_per_connection_and_each_get_is_one_query(monkeypatch):
    User.objects.create(username="dee")
    User.objects.create(username="eve")
    compiled = []
    as_sql = SQLCompiler.as_sql

    def counting_as_sql(self, *args, **kwargs):
        compiled.append(self.query.model)
        return as_sql(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting_as_sql)
    lookup = CompiledGet(lambda: User.objects.all(), "username")

    with CaptureQueriesContext(connection) as queries:
        names = [lookup.get(name).username for name in ("dee", "eve", "dee")]

    assert names == ["dee", "eve", "dee"]
    assert compiled == [User]
    assert len(queries) == 3
