from rest_framework import serializers

from accounts.models import user_id_validator
from core.fields import StrictCharField


class LoginRequestSerializer(serializers.Serializer):
    userId = StrictCharField(min_length=1, max_length=64, validators=[user_id_validator])
    password = StrictCharField(required=False, max_length=128)
    clickId = StrictCharField(required=False, min_length=1, max_length=128)


class TokenPairResponseSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text="Access token: send as `Authorization: Bearer <token>`."
    )
    refreshToken = serializers.CharField(help_text="Exchange at /token/refresh; single use.")
    tokenType = serializers.CharField(default="Bearer")
    expiresIn = serializers.IntegerField(help_text="Access token lifetime in seconds.")
    userId = serializers.CharField()


class TokenRefreshRequestSerializer(serializers.Serializer):
    refreshToken = StrictCharField(min_length=1, max_length=4096)


class PasswordSetRequestSerializer(serializers.Serializer):
    password = StrictCharField(min_length=1, max_length=128, help_text="The new password.")
    currentPassword = StrictCharField(
        required=False,
        max_length=128,
        help_text="The password the account has now; required when it has one.",
    )
