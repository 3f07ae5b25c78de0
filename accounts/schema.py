"""OpenAPI description of the bearer scheme, so Swagger UI's Authorize button works."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class BearerTokenScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "jwtAuth"
