"""The OpenAPI document is valid and lists every endpoint of the contract."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

CONTRACT_PATHS = {
    "/login": {"post"},
    "/token/refresh": {"post"},
    "/account/password": {"post"},
    "/earn": {"post"},
    "/spend": {"post"},
    "/balance": {"get"},
    "/transactions": {"get"},
    "/event": {"post"},
    "/events/batch": {"post"},
    "/events": {"get"},
    "/stats": {"get"},
    "/track": {"get"},
    "/health": {"get"},
    "/run-pipeline": {"post"},
    "/pipeline-runs/{run_id}": {"get"},
}


def test_schema_lists_every_endpoint(api_client):
    response = api_client.get("/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in CONTRACT_PATHS.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path


def test_schema_declares_the_bearer_scheme(api_client):
    schema = api_client.get("/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    scheme = schema["components"]["securitySchemes"]["jwtAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")


def test_schema_validates_without_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_are_served_from_local_static_files(api_client, path):
    response = api_client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
    assert "/static/drf_spectacular_sidecar/" in html
