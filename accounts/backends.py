"""Django's password authentication (the admin login form) under the account lockout.

`ModelBackend` checks the password with nothing around it; this backend checks it through
`services.password_verify`, the same claim-before-hash lockout `/login` uses, so a wrong
password here counts against the account and a locked account cannot sign in to the admin
even with the right password. A locked account raises `AccountLocked` (not PermissionDenied,
which `authenticate()` would swallow), so the login form can say why.
"""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts import services
from accounts.models import User


class LockoutModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            # Hash anyway, as ModelBackend does, so an unknown name takes as long as a known one.
            User().set_password(password)
            return None
        if services.password_verify(user=user, password=password) and self.user_can_authenticate(
            user
        ):
            return user
        return None
