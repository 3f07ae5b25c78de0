from django.urls import path

from accounts.api import LoginView, PasswordSetView, TokenRefreshView

urlpatterns = [
    path("login", LoginView.as_view(), name="login"),
    path("token/refresh", TokenRefreshView.as_view(), name="token-refresh"),
    path("account/password", PasswordSetView.as_view(), name="account-password"),
]
