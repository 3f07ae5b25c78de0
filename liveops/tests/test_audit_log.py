"""The all-staff audit log at /admin/admin/logentry/: read-only for every active staff member."""

from datetime import UTC, datetime

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts.models import User
from accounts.tests.admin_factories import admin_client, post_adjust_form, staff_in
from accounts.tests.factories import PlayerFactory, StaffFactory
from economy.models import Currency

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coins")]

CHANGELIST = reverse("admin:admin_logentry_changelist")


def log(user, obj, flag, message, when):
    entry = LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=str(obj.pk),
        object_repr=str(obj),
        action_flag=flag,
        change_message=message,
    )
    LogEntry.objects.filter(pk=entry.pk).update(action_time=when)
    return entry


@pytest.mark.parametrize("role", ["support", "economy", "analyst"])
def test_every_role_sees_every_staff_members_entries_newest_first(role):
    other = staff_in("support", username="s_other")
    player = PlayerFactory(username="p_logged")
    coins = Currency.objects.get(code="coins")
    log(other, player, CHANGE, "Banned: spam", datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    log(other, coins, ADDITION, "", datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    client = admin_client(staff_in(role))

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    rows = [(e.object_repr, e.user.username) for e in response.context["cl"].result_list]
    assert rows == [("coins", "s_other"), ("p_logged", "s_other")]
    page = response.content.decode()
    assert (
        f'<a href="{reverse("admin:accounts_user_change", args=[player.pk])}">p_logged</a>' in page
    )
    assert "Banned: spam" in page


def test_the_log_is_listed_on_the_home_page_for_staff():
    response = admin_client(staff_in("analyst")).get(reverse("admin:index"))

    assert CHANGELIST in response.content.decode()


def test_filters_by_user_content_type_and_action():
    first = staff_in("support", username="s_first")
    second = staff_in("economy", username="s_second")
    player = PlayerFactory(username="p_filtered")
    coins = Currency.objects.get(code="coins")
    when = datetime(2026, 12, 3, 8, 20, tzinfo=UTC)
    log(first, player, CHANGE, "Banned: x", when)
    log(second, player, CHANGE, "Unbanned: y", when)
    log(second, coins, ADDITION, "", when)
    client = admin_client(staff_in("support"))
    user_type = ContentType.objects.get_for_model(User)

    def listed(query):
        response = client.get(CHANGELIST, query)
        assert response.status_code == 200
        return sorted(e.change_message for e in response.context["cl"].result_list)

    assert listed({"user__id__exact": second.pk}) == ["", "Unbanned: y"]
    assert listed({"content_type__id__exact": user_type.pk}) == ["Banned: x", "Unbanned: y"]
    assert listed({"action_flag": ADDITION}) == [""]


def test_ban_and_adjust_entries_are_in_the_log():
    staff = staff_in("support")
    player = PlayerFactory(username="p_audited")
    client = admin_client(staff)
    client.post(reverse("admin:accounts_user_ban", args=[player.pk]), {"reason": "bot farm"})
    economy = staff_in("economy")
    post_adjust_form(
        admin_client(economy),
        reverse("admin:accounts_user_adjust", args=[player.pk]),
        {"currency": "coins", "amount": "30", "note": "outage"},
    )

    response = admin_client(staff_in("analyst")).get(CHANGELIST)

    messages = [e.get_change_message() for e in response.context["cl"].result_list]
    assert messages[1] == "Banned: bot farm"
    assert messages[0].startswith("Adjusted coins by +30 to 30 (transaction ")
    assert messages[0].endswith("): outage")


@pytest.mark.parametrize("superuser", [False, True])
def test_no_one_adds_changes_or_deletes_log_entries(superuser):
    staff = StaffFactory(is_superuser=superuser) if superuser else staff_in("support")
    entry = log(staff, PlayerFactory(), CHANGE, "Banned: z", datetime(2026, 1, 1, tzinfo=UTC))
    client = admin_client(staff)
    change = reverse("admin:admin_logentry_change", args=[entry.pk])

    assert client.get(reverse("admin:admin_logentry_add")).status_code == 403
    assert client.post(change, {"change_message": "rewritten"}).status_code == 403
    delete = reverse("admin:admin_logentry_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.change_message == "Banned: z"
    assert client.get(change).status_code == 200  # viewable


def test_staff_without_a_role_may_view_but_inactive_staff_may_not():
    client = admin_client(staff_in(None))
    assert client.get(CHANGELIST).status_code == 200
    inactive = admin_client(staff_in("support", is_active=False))
    assert inactive.get(CHANGELIST).status_code == 302  # to the login page
