"""DRF throttles by scope; rates come from settings (THROTTLE_* environment variables)."""

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class LoginRateThrottle(AnonRateThrottle):
    """`/login` and `/token/refresh`, per client IP."""

    scope = "login"


class TrackRateThrottle(AnonRateThrottle):
    """`/track`, per client IP."""

    scope = "track"


class PlayerWriteRateThrottle(UserRateThrottle):
    """Writes (earn, spend, events), per authenticated player."""

    scope = "writes"
