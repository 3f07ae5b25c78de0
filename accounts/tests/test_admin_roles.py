"""Each staff role can do its job in the admin and nothing else; refused means 403 and nothing
written."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.models import User
from accounts.tests.admin_factories import admin_client, post_adjust_form, staff_in
from accounts.tests.factories import PlayerFactory
from economy import services as economy_services
from economy.models import Currency, EarnRule, LedgerEntry, Wallet

pytestmark = pytest.mark.django_db

ROLES = ["support", "economy", "analyst"]


def test_the_roles_exist_with_permissions_that_exist():
    for role in ROLES:
        group = Group.objects.get(name=role)
        assert group.permissions.exists()
    # every granted permission belongs to a real model permission (not a typo that grants nothing)
    granted = Permission.objects.filter(group__name__in=ROLES).select_related("content_type")
    for permission in granted:
        model = permission.content_type.model_class()
        assert model is not None, permission
        declared = {codename for codename, _ in model._meta.permissions} | {
            f"{action}_{model._meta.model_name}" for action in model._meta.default_permissions
        }
        assert permission.codename in declared, permission


def role_codenames(role):
    return set(
        Group.objects.get(name=role).permissions.values_list("content_type__app_label", "codename")
    )


def test_role_permissions_are_exactly_the_job():
    assert ("accounts", "ban_player") in role_codenames("support")
    assert ("accounts", "ban_player") not in role_codenames("economy")
    assert ("accounts", "ban_player") not in role_codenames("analyst")
    assert ("economy", "adjust_wallet") in role_codenames("economy")
    assert ("economy", "adjust_wallet") not in role_codenames("support")
    assert ("economy", "adjust_wallet") not in role_codenames("analyst")
    for role in ROLES:  # nobody may edit players directly, or any ledger row
        assert ("accounts", "change_user") not in role_codenames(role)
        assert ("accounts", "delete_user") not in role_codenames(role)
        assert not {c for app, c in role_codenames(role) if c.endswith("_ledgerentry")} - {
            "view_ledgerentry"
        }


# --- players: view and ban ----------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("support", 200), ("economy", 200), (None, 403)])
def test_who_can_view_players(role, status):
    player = PlayerFactory()
    client = admin_client(staff_in(role))
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == status
    assert client.get(reverse("admin:accounts_user_change", args=[player.pk])).status_code == (
        status
    )


def test_analyst_does_not_see_players():
    client = admin_client(staff_in("analyst"))
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403


@pytest.mark.parametrize(
    ("role", "allowed"), [("support", True), ("economy", False), ("analyst", False), (None, False)]
)
def test_who_can_ban_and_unban(role, allowed):
    player = PlayerFactory()
    client = admin_client(staff_in(role))
    ban = reverse("admin:accounts_user_ban", args=[player.pk])
    unban = reverse("admin:accounts_user_unban", args=[player.pk])

    assert client.get(ban).status_code == (200 if allowed else 403)
    response = client.post(ban, {"reason": "chargeback fraud"})
    player.refresh_from_db()
    if allowed:
        assert response.status_code == 302 and not player.is_active
    else:
        assert response.status_code == 403 and player.is_active
        player.is_active = False
        player.save(update_fields=["is_active"])
    response = client.post(unban, {"reason": "appeal"})
    player.refresh_from_db()
    assert response.status_code == (302 if allowed else 403)
    assert player.is_active is allowed
    assert LogEntry.objects.count() == (2 if allowed else 0)


def test_bulk_ban_is_refused_without_the_permission():
    player = PlayerFactory()
    client = admin_client(staff_in("economy"))
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "ban_players", "_selected_action": [player.pk], "apply": "yes", "reason": "x"},
    )
    player.refresh_from_db()
    assert player.is_active
    # the action is listed for every role; running it without accounts.ban_player is refused
    assert response.status_code == 403
    assert not LogEntry.objects.exists()


def test_a_support_member_cannot_edit_a_player_through_the_form():
    player = PlayerFactory(email="old@example.com")
    client = admin_client(staff_in("support"))
    response = client.post(
        reverse("admin:accounts_user_change", args=[player.pk]),
        {"username": player.username, "email": "new@example.com", "is_staff": "on"},
    )
    assert response.status_code == 403
    player.refresh_from_db()
    assert player.email == "old@example.com" and not player.is_staff


# --- wallets: adjust ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"), [("economy", True), ("support", False), ("analyst", False), (None, False)]
)
def test_who_can_adjust_a_wallet(role, allowed):
    player = PlayerFactory()
    coins = Currency.objects.get(code="coins")
    economy_services.wallet_earn(
        player=player, currency=coins, amount=100, reason="daily_login", request_id=""
    )
    wallet = Wallet.objects.get(player=player)
    staff = staff_in(role)
    client = admin_client(staff)
    urls = [
        reverse("admin:accounts_user_adjust", args=[player.pk]),
        reverse("admin:economy_wallet_adjust", args=[wallet.pk]),
    ]
    for url in urls:
        rendered = client.get(url)
        assert rendered.status_code == (200 if allowed else 403)
        token = rendered.context["form"]["form_token"].value() if allowed else "none"
        data = {"currency": "coins", "amount": "5", "note": "goodwill", "form_token": token}
        response = client.post(url, data)
        assert response.status_code == (302 if allowed else 403)
    adjustments = LedgerEntry.objects.filter(player=player, kind="adjustment")
    assert adjustments.count() == (2 if allowed else 0)
    assert all(entry.actor_id == staff.pk for entry in adjustments)
    assert LogEntry.objects.filter(user=staff).count() == (2 if allowed else 0)


def test_economy_adjust_form_writes_exactly_one_entry_with_actor_and_note():
    player = PlayerFactory()
    coins = Currency.objects.get(code="coins")
    economy_services.wallet_earn(
        player=player, currency=coins, amount=100, reason="daily_login", request_id=""
    )
    wallet = Wallet.objects.get(player=player)
    operator = staff_in("economy")
    before = LedgerEntry.objects.count()

    response = post_adjust_form(
        admin_client(operator),
        reverse("admin:economy_wallet_adjust", args=[wallet.pk]),
        {"currency": "coins", "amount": "-40", "note": "duplicate reward removed"},
    )

    assert response.status_code == 302
    assert LedgerEntry.objects.count() == before + 1
    entry = LedgerEntry.objects.order_by("-id").first()
    assert (entry.kind, entry.amount, entry.balance_after) == ("adjustment", -40, 60)
    assert (entry.actor_id, entry.note) == (operator.pk, "duplicate reward removed")
    wallet.refresh_from_db()
    assert wallet.balance == 60


# --- the ledger is read-only for everyone -------------------------------------------------------


@pytest.mark.parametrize("role", ["economy", "support", "analyst", "superuser"])
def test_ledger_refuses_add_change_and_delete(role, admin_user):
    player = PlayerFactory()
    coins = Currency.objects.get(code="coins")
    entry = economy_services.wallet_earn(
        player=player, currency=coins, amount=100, reason="daily_login", request_id=""
    )
    client = admin_client(admin_user if role == "superuser" else staff_in(role))

    assert client.get(reverse("admin:economy_ledgerentry_changelist")).status_code == 200
    assert client.get(reverse("admin:economy_ledgerentry_add")).status_code == 403
    change = reverse("admin:economy_ledgerentry_change", args=[entry.pk])
    view = client.get(change)
    assert view.status_code == 200 and view.context["has_change_permission"] is False
    client.post(change, {"amount": "999999", "reason": "edited", "balance_after": "999999"})
    assert client.post(reverse("admin:economy_ledgerentry_add"), {}).status_code == 403
    delete = reverse("admin:economy_ledgerentry_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    bulk = client.post(
        reverse("admin:economy_ledgerentry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    # no one may delete, so the list offers no action at all: the POST only shows the list again
    assert bulk.status_code == 200
    assert bulk.context["action_form"] is None
    entry.refresh_from_db()
    assert (entry.amount, entry.balance_after, entry.reason) == (100, 100, "daily_login")
    assert LedgerEntry.objects.count() == 1


# --- currencies and earn rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"), [("economy", True), ("support", False), ("analyst", False)]
)
def test_who_can_manage_currencies_and_earn_rules(role, allowed):
    client = admin_client(staff_in(role))
    expected = 302 if allowed else 403

    response = client.post(
        reverse("admin:economy_currency_add"), {"code": "gems", "name": "Gems", "max_balance": ""}
    )
    assert response.status_code == expected
    assert Currency.objects.filter(code="gems").exists() is allowed

    coins = Currency.objects.get(code="coins")
    response = client.post(
        reverse("admin:economy_earnrule_add"),
        {"reason": "daily_login", "currency": coins.pk, "max_per_grant": "500", "max_per_day": ""},
    )
    assert response.status_code == expected
    assert EarnRule.objects.filter(reason="daily_login").exists() is allowed
    if allowed:
        rule = EarnRule.objects.get()
        response = client.post(
            reverse("admin:economy_earnrule_change", args=[rule.pk]),
            {"reason": "daily_login", "currency": coins.pk, "max_per_grant": "50"},
        )
        assert response.status_code == 302
        rule.refresh_from_db()
        assert rule.max_per_grant == 50
        assert LogEntry.objects.count() == 3  # every change is in the admin log


# --- events and clicks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [("support", 200), ("analyst", 200), ("economy", 403), (None, 403)]
)
def test_who_can_browse_events_and_clicks(role, status):
    client = admin_client(staff_in(role))
    for name in ["telemetry_event", "telemetry_click", "telemetry_playerattribution"]:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == status


def test_staff_without_a_role_sees_nothing_but_the_audit_log():
    client = admin_client(staff_in(None))
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    listed = [
        (app["app_label"], model["object_name"])
        for app in index.context["app_list"]
        for model in app["models"]
    ]
    assert listed == [("admin", "LogEntry")]
    assert client.get(reverse("admin-reports:economy-flows")).status_code == 403


def test_players_cannot_reach_the_admin():
    player = PlayerFactory(password="a-player-password-1")
    client = admin_client(player)
    response = client.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert User.objects.filter(is_staff=True).count() == 0


# --- controls a role cannot use are not shown ------------------------------------------------


@pytest.mark.parametrize(("role", "shown"), [("support", False), ("economy", False), (None, True)])
def test_set_password_is_shown_only_to_who_may_change_the_player(role, shown, admin_user):
    player = PlayerFactory(username="p_pw")
    staff = admin_user if role is None else staff_in(role)

    page = admin_client(staff).get(reverse("admin:accounts_user_change", args=[player.pk]))

    content = page.content.decode()
    assert page.status_code == 200
    assert ('href="../password/"' in content) is shown
    assert ("field-password" in content) is shown
    assert ('name="_save"' in content) is shown


def test_a_wallet_page_has_no_save_buttons_even_for_a_superuser(admin_user):
    player = PlayerFactory()
    coins, _ = Currency.objects.get_or_create(code="coins", defaults={"name": "Coins"})
    economy_services.wallet_earn(
        player=player, currency=coins, amount=5, reason="quest", request_id=""
    )
    wallet = Wallet.objects.get(player=player)

    content = (
        admin_client(admin_user)
        .get(reverse("admin:economy_wallet_change", args=[wallet.pk]))
        .content.decode()
    )

    for name in ("_save", "_continue", "_addanother"):
        assert f'name="{name}"' not in content
    assert 'class="closelink"' in content
    # an editable page keeps them
    currency_page = admin_client(admin_user).get(
        reverse("admin:economy_currency_change", args=[coins.pk])
    )
    assert 'name="_save"' in currency_page.content.decode()
