"""The admin site: Django's, with a login form under the account lockout and a per-IP throttle.

A refused sign-in (address throttled, or account locked) shows the login form again with an
error that says which and for how long, answered with HTTP 429 and `Retry-After`; a wrong
password is Django's usual form error (200).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm, AdminPasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from rest_framework.request import Request

from accounts import services
from accounts.errors import AccountLocked
from core.throttles import AdminLoginRateThrottle


class StaffLoginForm(AdminAuthenticationForm):
    """The admin login form: per-IP throttle first, then the lockout (in the auth backend)."""

    retry_after: int | None = None  # set when the sign-in was refused for a while

    def clean(self) -> dict[str, Any]:
        throttle = AdminLoginRateThrottle()
        # The throttle reads only request.META (the client address), which a Django request has.
        request = cast(Request, self.request)
        if request is not None and not throttle.allow_request(request, None):
            self.retry_after = int(throttle.wait() or 1)
            raise forms.ValidationError(
                "Too many sign-in attempts from your address; try again in %(seconds)s seconds.",
                code="throttled",
                params={"seconds": self.retry_after},
            )
        try:
            return super().clean()
        except AccountLocked as exc:
            self.retry_after = int(exc.headers["Retry-After"])
            raise forms.ValidationError(
                "Too many failed sign-ins for this account; it is locked. Try again in "
                "%(seconds)s seconds.",
                code="account_locked",
                params={"seconds": self.retry_after},
            ) from None


class StaffPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "change password": the old password is checked under the lockout too."""

    def clean_old_password(self) -> str:
        old_password: str = self.cleaned_data["old_password"]
        try:
            correct = services.password_verify(user=self.user, password=old_password)
        except AccountLocked as exc:
            raise forms.ValidationError(
                "Too many wrong passwords for this account; it is locked. Try again in "
                "%(seconds)s seconds.",
                code="account_locked",
                params={"seconds": exc.headers["Retry-After"]},
            ) from None
        if not correct:
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password


class LiveOpsAdminSite(admin.AdminSite):
    login_form = StaffLoginForm
    site_header = "Game backend live-ops"
    site_title = "Game backend live-ops"
    index_title = "Game backend live-ops"
    # No app sidebar: the home page lists the apps and every page has breadcrumbs, and the
    # lists need the width (every column on screen at 1440 px, e2e/admin.spec.mjs).
    enable_nav_sidebar = False

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # The home page figures above the app list (liveops.home).
        from liveops.home import home_context

        return super().index(request, {**home_context(request), **(extra_context or {})})

    def password_change(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        # As AdminSite.password_change, with the lockout-aware form.
        request.current_app = self.name
        view = PasswordChangeView.as_view(
            form_class=StaffPasswordChangeForm,
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )
        return view(request)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        response: HttpResponse = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        retry_after = getattr(form, "retry_after", None)
        if retry_after is not None:
            response.status_code = 429
            response["Retry-After"] = str(retry_after)
        return response
