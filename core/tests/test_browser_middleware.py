"""Django's session, auth and messages middleware run on the browser pages only; the
bearer-token API passes them by, and answers exactly as before (CSRF stays on every path)."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.test import Client, RequestFactory

from core.middleware import (
    BrowserAuthenticationMiddleware,
    BrowserMessageMiddleware,
    BrowserSessionMiddleware,
    is_browser_path,
)

API_PATHS = ["/balance", "/earn", "/health", "/metrics", "/events/batch", "/pipeline-runs/1"]
BROWSER_PATHS = ["/admin/", "/admin/login/", "/admin/reports/retention/", "/docs", "/redoc"]


def run_chain(path: str) -> HttpRequest:
    """The middleware in settings order around a view that records the request."""
    seen: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        return HttpResponse("ok")

    chain = BrowserSessionMiddleware(
        CsrfViewMiddleware(BrowserAuthenticationMiddleware(BrowserMessageMiddleware(view)))
    )
    response = chain(RequestFactory().get(path, HTTP_COOKIE="csrftoken=" + "a" * 32))
    assert response.status_code == 200
    return seen[0]


@pytest.mark.parametrize("path", BROWSER_PATHS)
def test_browser_paths_get_session_user_and_messages(path):
    request = run_chain(path)

    assert is_browser_path(path)
    assert hasattr(request, "session")
    assert hasattr(request, "user")
    assert hasattr(request, "_messages")
    assert request.META["CSRF_COOKIE"] == "a" * 32


@pytest.mark.parametrize("path", API_PATHS)
def test_api_paths_pass_the_browser_middleware_by(path):
    request = run_chain(path)

    assert not is_browser_path(path)
    assert not hasattr(request, "session")
    assert not hasattr(request, "user")
    assert not hasattr(request, "_messages")
    assert request.META["CSRF_COOKIE"] == "a" * 32  # CSRF runs everywhere, as before


@pytest.mark.django_db
def test_the_admin_still_sets_its_csrf_cookie_and_refuses_a_post_without_the_token():
    client = Client(enforce_csrf_checks=True)

    page = client.get("/admin/login/")
    post = client.post("/admin/login/", {"username": "a", "password": "b"})

    assert page.status_code == 200
    assert "csrftoken" in page.cookies
    assert page["Vary"] == "Cookie"
    assert post.status_code == 403
    assert b"CSRF verification failed" in post.content


@pytest.mark.django_db
def test_a_plain_view_outside_the_browser_pages_is_still_csrf_checked():
    # /metrics is the one non-DRF view of the API paths: Django's CSRF answer, as before, and
    # no session cookie.
    response = Client(enforce_csrf_checks=True).post("/metrics")

    assert response.status_code == 403
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b"CSRF verification failed" in response.content
    assert "csrftoken" not in response.cookies


@pytest.mark.django_db
def test_an_api_response_sets_no_cookie_and_no_vary_even_with_browser_cookies(player_client):
    player_client.cookies["sessionid"] = "not-a-session"
    player_client.cookies["csrftoken"] = "x" * 32

    response = player_client.get("/balance")

    assert response.status_code == 200
    assert not response.cookies
    assert "Vary" not in response
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Length"] == str(len(response.content))
