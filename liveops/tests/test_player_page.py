"""The players admin: search, filters, the detail page, ban/unban with a reason, adjustments."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import services
from accounts.models import BanRecord, User
from accounts.services import token_pair_issue
from accounts.tests.admin_factories import admin_client, post_adjust_form, staff_in
from accounts.tests.factories import PlayerFactory
from economy import services as economy_services
from economy.models import Currency, LedgerEntry
from telemetry.models import Click, Event, PlayerAttribution

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coins")]

CHANGELIST = "admin:accounts_user_changelist"


def change_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


def attribute(player, media_source, campaign):
    click = Click.objects.create(
        created_at=timezone.now(), media_source=media_source, campaign=campaign, ip_hash="x"
    )
    return PlayerAttribution.objects.create(
        player=player,
        click=click,
        media_source=media_source,
        campaign=campaign,
        attributed_at=timezone.now(),
    )


def listed(response):
    return sorted(user.username for user in response.context["cl"].result_list)


def test_search_by_user_id_is_exact_or_prefix():
    PlayerFactory(username="alice_1")
    PlayerFactory(username="alice_2")
    PlayerFactory(username="bob")
    client = admin_client(staff_in("support", username="staff_support"))
    url = reverse(CHANGELIST)

    assert listed(client.get(url, {"q": "alice"})) == ["alice_1", "alice_2"]
    assert listed(client.get(url, {"q": "bob"})) == ["bob"]
    assert listed(client.get(url, {"q": "lice"})) == []  # no substring scans


def test_filters_by_status_staff_and_media_source():
    active = PlayerFactory(username="p_active")
    banned = PlayerFactory(username="p_banned", is_active=False)
    attribute(active, "facebook", "summer")
    attribute(banned, "google", "")
    organic = PlayerFactory(username="p_organic")
    support = staff_in("support", username="staff_support")
    client = admin_client(support)
    url = reverse(CHANGELIST)

    assert listed(client.get(url, {"status": "banned"})) == ["p_banned"]
    assert listed(client.get(url, {"status": "active", "is_staff__exact": "0"})) == [
        "p_active",
        "p_organic",
    ]
    assert listed(client.get(url, {"is_staff__exact": "1"})) == ["staff_support"]
    assert listed(client.get(url, {"media_source": "facebook"})) == ["p_active"]
    response = client.get(url, {"media_source": "__none__", "is_staff__exact": "0"})
    assert listed(response) == [organic.username]
    page = client.get(url).content.decode()
    assert "facebook" in page and "not attributed" in page  # the filter's choices


def test_list_never_counts_the_whole_table(django_assert_max_num_queries):
    PlayerFactory.create_batch(3)
    client = admin_client(staff_in("support"))
    response = client.get(reverse(CHANGELIST), {"status": "active"})
    assert response.status_code == 200
    cl = response.context["cl"]
    assert cl.show_full_result_count is False
    assert cl.full_result_count is None  # the unfiltered COUNT(*) was skipped


def test_detail_page_shows_balances_ledger_events_and_attribution():
    player = PlayerFactory(username="p_detail")
    attribute(player, "tiktok", "launch<b>")
    gems = Currency.objects.create(code="gems", name="Gems")
    economy_services.wallet_earn(
        player=player, currency=gems, amount=70, reason="quest_reward", request_id=""
    )
    coins = Currency.objects.get(code="coins")
    economy_services.wallet_earn(
        player=player, currency=coins, amount=500, reason="daily_login", request_id=""
    )
    economy_services.wallet_spend(
        player=player, currency=coins, amount=120, reason="shop_sword", request_id=""
    )
    Event.objects.create(
        player=player,
        event_type="level_complete",
        meta={"level": 42},
        timestamp=datetime(2025, 10, 25, 10, 30, tzinfo=UTC),
        received_at=timezone.now(),
    )
    client = admin_client(staff_in("support"))

    response = client.get(change_url(player))

    assert response.status_code == 200
    context = response.context
    assert [(c.code, b) for c, b in context["balances"]] == [("coins", 380), ("gems", 70)]
    assert [(e.reason, e.amount) for e in context["ledger_entries"]] == [
        ("shop_sword", -120),
        ("daily_login", 500),
        ("quest_reward", 70),
    ]
    assert [e.event_type for e in context["events"]] == ["level_complete"]
    assert context["attribution"].media_source == "tiktok"
    page = response.content.decode()
    assert "shop_sword" in page and "level_complete" in page
    assert "launch&lt;b&gt;" in page  # escaped
    assert reverse("admin:accounts_user_ban", args=[player.pk]) in page
    assert reverse("admin:accounts_user_adjust", args=[player.pk]) not in page  # support


def test_ban_needs_a_reason_then_revokes_tokens_and_is_logged():
    player = PlayerFactory(username="p_cheater")
    token_pair_issue(user=player)
    support = staff_in("support")
    client = admin_client(support)
    url = reverse("admin:accounts_user_ban", args=[player.pk])

    assert client.get(url).status_code == 200  # the reason form
    response = client.post(url, {"reason": "   "})
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    player.refresh_from_db()
    assert player.is_active
    assert not LogEntry.objects.exists()
    assert not BanRecord.objects.exists()

    response = client.post(url, {"reason": "speed hack in ranked"})

    assert response.status_code == 302
    player.refresh_from_db()
    assert not player.is_active
    assert player.ban_reason == "speed hack in ranked"
    outstanding = OutstandingToken.objects.filter(user=player)
    assert outstanding.count() == 1
    assert BlacklistedToken.objects.filter(token__in=outstanding).count() == 1
    (log,) = LogEntry.objects.all()
    assert log.user_id == support.pk
    assert log.action_flag == CHANGE
    assert log.object_id == str(player.pk)
    assert log.content_type == ContentType.objects.get_for_model(User)
    assert log.get_change_message() == "Banned: speed hack in ranked"
    (record,) = BanRecord.objects.all()
    assert (record.player, record.action, record.reason, record.actor) == (
        player,
        "ban",
        "speed hack in ranked",
        support,
    )
    assert record.created_at == player.banned_at


def test_unban_with_reason_is_logged():
    player = PlayerFactory(username="p_back", is_active=False, banned_at=timezone.now())
    support = staff_in("support")
    client = admin_client(support)

    response = client.post(
        reverse("admin:accounts_user_unban", args=[player.pk]), {"reason": "appeal accepted"}
    )

    assert response.status_code == 302
    player.refresh_from_db()
    assert player.is_active and player.banned_at is None and player.ban_reason == ""
    assert LogEntry.objects.get().get_change_message() == "Unbanned: appeal accepted"
    assert list(BanRecord.objects.values_list("player", "action", "reason", "actor")) == [
        (player.pk, "unban", "appeal accepted", support.pk)
    ]


def test_the_player_page_lists_ban_records_read_only_for_support():
    player = PlayerFactory(username="p_history")
    support = staff_in("support")
    services.player_ban(player=player, reason="chargeback fraud", actor=support)
    services.player_unban(player=player, reason="bank error", actor=None)

    response = admin_client(support).get(change_url(player))
    economy_view = admin_client(staff_in("economy")).get(change_url(player))

    assert response.status_code == economy_view.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    assert inline.opts.model is BanRecord
    assert (inline.has_add_permission, inline.has_change_permission) == (False, False)
    assert inline.has_delete_permission is False
    rows = [
        (form.instance.action, form.instance.reason, form.instance.actor)
        for form in inline.formset.forms
    ]
    assert rows == [("unban", "bank error", None), ("ban", "chargeback fraud", support)]
    page = response.content.decode()
    assert "chargeback fraud" in page and "bank error" in page
    assert economy_view.context["inline_admin_formsets"] == []


def test_the_add_page_has_no_ban_records(admin_user):
    response = admin_client(admin_user).get(reverse("admin:accounts_user_add"))

    assert response.status_code == 200
    assert response.context["inline_admin_formsets"] == []


def test_bulk_ban_action_asks_for_the_reason_first():
    first, second = PlayerFactory(username="p_a"), PlayerFactory(username="p_b")
    client = admin_client(staff_in("support"))
    url = reverse(CHANGELIST)
    selection = {"action": "ban_players", "_selected_action": [first.pk, second.pk]}

    page = client.post(url, selection)
    assert page.status_code == 200
    assert page.templates[0].name == "admin/accounts/user/ban_reason.html"
    assert User.objects.filter(is_active=False).count() == 0

    missing = client.post(url, {**selection, "apply": "yes", "reason": ""})
    assert missing.status_code == 200
    assert User.objects.filter(is_active=False).count() == 0

    done = client.post(url, {**selection, "apply": "yes", "reason": "bot ring"})
    assert done.status_code == 302
    assert sorted(User.objects.filter(is_active=False).values_list("username", flat=True)) == [
        "p_a",
        "p_b",
    ]
    assert sorted(LogEntry.objects.values_list("change_message", flat=True)) == [
        "Banned: bot ring",
        "Banned: bot ring",
    ]
    assert sorted(BanRecord.objects.values_list("player__username", "action", "reason")) == [
        ("p_a", "ban", "bot ring"),
        ("p_b", "ban", "bot ring"),
    ]


def test_the_active_flag_cannot_be_edited_around_the_ban_service(admin_user):
    # even a superuser's change form shows is_active read-only: bans go through the service
    player = PlayerFactory(username="p_flag")
    response = admin_client(admin_user).get(change_url(player))
    assert "is_active" not in response.context["adminform"].form.fields


def test_adjust_balance_writes_exactly_one_ledger_entry_with_actor_and_note():
    player = PlayerFactory(username="p_comp")
    operator = staff_in("economy")
    client = admin_client(operator)
    url = reverse("admin:accounts_user_adjust", args=[player.pk])
    assert client.get(url).status_code == 200

    response = post_adjust_form(
        client, url, {"currency": "coins", "amount": "250", "note": "compensation for outage #12"}
    )

    assert response.status_code == 302
    (entry,) = LedgerEntry.objects.filter(player=player)
    assert entry.kind == "adjustment"
    assert entry.amount == 250
    assert entry.balance_after == 250
    assert entry.actor_id == operator.pk
    assert entry.note == "compensation for outage #12"
    log = LogEntry.objects.get()
    assert log.user_id == operator.pk and log.object_id == str(player.pk)
    assert "by +250 to 250" in log.get_change_message()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"currency": "coins", "amount": "10", "note": "  "}, "This field is required"),
        ({"currency": "coins", "amount": "0", "note": "x"}, "changes nothing"),
        (
            {"currency": "coins", "amount": "-5", "note": "take back"},
            "The coins balance is 0; 5 are needed.",
        ),
    ],
)
def test_refused_adjustments_write_nothing(data, message):
    player = PlayerFactory()
    client = admin_client(staff_in("economy"))

    response = post_adjust_form(
        client, reverse("admin:accounts_user_adjust", args=[player.pk]), data
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not LedgerEntry.objects.exists()
    assert not LogEntry.objects.exists()


def test_players_cannot_be_deleted_from_the_admin(admin_user):
    player = PlayerFactory()
    client = admin_client(admin_user)
    response = client.get(reverse("admin:accounts_user_delete", args=[player.pk]))
    assert response.status_code == 403
    actions = client.get(reverse(CHANGELIST)).context["action_form"].fields["action"].choices
    assert "delete_selected" not in [name for name, _ in actions]


def test_recent_activity_dates_render(admin_user):
    player = PlayerFactory(last_login=timezone.now() - timedelta(days=1))
    assert admin_client(admin_user).get(change_url(player)).status_code == 200


def test_the_game_panels_come_before_the_account_fieldsets():
    player = PlayerFactory(username="p_order")
    client = admin_client(staff_in("support"))

    page = client.get(change_url(player)).content.decode()

    panels = [page.index(f'id="player-{name}"') for name in ("balances", "ledger", "events")]
    panels.append(page.index('id="player-attribution"'))
    first_fieldset = page.index("<fieldset")
    assert panels == sorted(panels)
    assert panels[-1] < first_fieldset
    assert page.index('id="player-status"') < panels[0]
