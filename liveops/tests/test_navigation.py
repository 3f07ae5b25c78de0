"""Finding players: by campaign on the players list, and from every list that shows a player."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.admin_factories import admin_client, staff_in
from accounts.tests.factories import PlayerFactory
from economy.models import Currency, Wallet
from economy.services import wallet_earn
from liveops.tests.test_player_page import CHANGELIST, attribute, change_url, listed
from telemetry.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def attributed():
    """Four players: two of facebook/summer, one of facebook without a campaign name, one of
    google/summer (same campaign name, another source), and one organic player."""
    players = {
        name: PlayerFactory(username=name)
        for name in ("p_fb_summer_1", "p_fb_summer_2", "p_fb_none", "p_gg_summer", "p_organic")
    }
    attribute(players["p_fb_summer_1"], "facebook", "summer")
    attribute(players["p_fb_summer_2"], "facebook", "summer")
    attribute(players["p_fb_none"], "facebook", "")
    attribute(players["p_gg_summer"], "google", "summer")
    return players


def choices(response, parameter):
    """The (value, label) choices the changelist offers for one filter."""
    (spec,) = [
        spec
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "parameter_name", None) == parameter
    ]
    return list(spec.lookup_choices)


def test_players_are_found_by_campaign_of_their_media_source(attributed):
    client = admin_client(staff_in("support"))
    url = reverse(CHANGELIST)

    assert listed(client.get(url, {"campaign": "facebook|summer"})) == [
        "p_fb_summer_1",
        "p_fb_summer_2",
    ]
    assert listed(client.get(url, {"campaign": "google|summer"})) == ["p_gg_summer"]
    assert listed(client.get(url, {"campaign": "facebook|"})) == ["p_fb_none"]
    assert listed(client.get(url, {"campaign": "tiktok|summer"})) == []


def test_campaign_choices_follow_the_chosen_media_source(attributed):
    client = admin_client(staff_in("support"))
    url = reverse(CHANGELIST)

    assert choices(client.get(url), "campaign") == [
        ("facebook|", "facebook / (none)"),
        ("facebook|summer", "facebook / summer"),
        ("google|summer", "google / summer"),
    ]
    assert choices(client.get(url, {"media_source": "google"}), "campaign") == [
        ("google|summer", "google / summer"),
    ]
    unattributed = client.get(url, {"media_source": "__none__"})
    assert len(choices(unattributed, "campaign")) == 3  # no source chosen: every campaign


def test_the_campaign_column_links_to_the_players_of_that_campaign(attributed):
    client = admin_client(staff_in("support"))

    page = client.get(reverse(CHANGELIST), {"q": "p_fb_summer_1"}).content.decode()

    assert '<a href="?campaign=facebook%7Csummer" title="players of this campaign">summer</a>' in (
        page
    )


def player_links(page):
    return re.findall(r'<td class="field-player_link"><a href="([^"]+)">([^<]+)</a>', page)


def test_lists_link_each_row_to_its_player():
    player = PlayerFactory(username="p_linked")
    coins, _ = Currency.objects.get_or_create(code="coins", defaults={"name": "Coins"})
    wallet_earn(player=player, currency=coins, amount=5, reason="quest", request_id="")
    Event.objects.create(
        player=player,
        event_type="level_complete",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        received_at=timezone.now(),
    )
    attribute(player, "facebook", "summer")
    wallet = Wallet.objects.get(player=player)
    client = admin_client(staff_in("support"))
    economy = admin_client(staff_in("economy"))
    expected = [(change_url(player), "p_linked")]

    assert player_links(client.get(reverse("admin:telemetry_event_changelist")).content.decode())
    for url, viewer in [
        (reverse("admin:telemetry_event_changelist"), client),
        (reverse("admin:telemetry_playerattribution_changelist"), client),
        (reverse("admin:economy_ledgerentry_changelist"), client),
        (reverse("admin:economy_wallet_changelist"), economy),
    ]:
        assert player_links(viewer.get(url).content.decode()) == expected, url
    # The wallet's own page is still one click away, from its balance.
    wallet_list = economy.get(reverse("admin:economy_wallet_changelist")).content.decode()
    assert f'href="{reverse("admin:economy_wallet_change", args=[wallet.pk])}"' in wallet_list


def test_staff_who_may_not_open_players_see_the_user_id_without_a_link():
    player = PlayerFactory(username="p_plain")
    Event.objects.create(
        player=player,
        event_type="level_complete",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        received_at=timezone.now(),
    )
    analyst = admin_client(staff_in("analyst"))

    page = analyst.get(reverse("admin:telemetry_event_changelist")).content.decode()

    assert player_links(page) == []
    assert '<td class="field-player nowrap">p_plain</td>' in page
    assert analyst.get(change_url(player)).status_code == 403
