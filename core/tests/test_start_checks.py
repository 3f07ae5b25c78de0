"""A production start without the static files manifest fails at once (core.checks)."""

import importlib
import json
import sys

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from core.checks import PAGE_STATIC_FILES, START_TAG, start_checks, static_manifest_check

MANIFEST_STORAGE = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


@pytest.fixture
def manifest_settings(settings, tmp_path):
    """The production storage (whitenoise's manifest) with an empty STATIC_ROOT."""
    settings.STORAGES = MANIFEST_STORAGE
    settings.STATIC_ROOT = tmp_path
    return tmp_path


def write_manifest(root, names):
    paths = {name: name.replace(".", ".0123456789ab.", 1) for name in names}
    (root / "staticfiles.json").write_text(json.dumps({"paths": paths, "version": "1.1"}))


def test_a_missing_manifest_is_an_error(manifest_settings):
    errors = static_manifest_check()

    assert [(error.id, error.level) for error in errors] == [("gamebackend.E001", 40)]
    assert errors[0].msg == (
        f"The static files manifest {manifest_settings / 'staticfiles.json'} is missing: "
        "/docs, /redoc and the admin would answer 500."
    )
    assert "collectstatic" in errors[0].hint


def test_a_manifest_without_the_pages_files_is_an_error(manifest_settings):
    write_manifest(manifest_settings, ["admin/css/base.css"])

    errors = static_manifest_check()

    assert [error.id for error in errors] == ["gamebackend.E002"]
    assert errors[0].msg == (
        f"The static files manifest {manifest_settings / 'staticfiles.json'} lacks "
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js, "
        "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js: the pages that use them "
        "would answer 500."
    )


def test_an_unreadable_manifest_is_an_error(manifest_settings):
    (manifest_settings / "staticfiles.json").write_text("{not json")

    assert [error.id for error in static_manifest_check()] == ["gamebackend.E001"]


def test_a_complete_manifest_passes(manifest_settings):
    write_manifest(manifest_settings, PAGE_STATIC_FILES)

    assert static_manifest_check() == []
    start_checks()  # does not raise


def test_without_the_manifest_storage_there_is_nothing_to_check(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path  # empty; tests (like DEBUG) serve files by name

    assert static_manifest_check() == []


def test_it_is_a_deployment_check_not_one_that_blocks_migrate(manifest_settings):
    assert run_checks(tags=[START_TAG]) == []
    assert [m.id for m in run_checks(tags=[START_TAG], include_deployment_checks=True)] == [
        "gamebackend.E001"
    ]


def wsgi_start():
    """Run gamebackend.wsgi as a gunicorn worker does when it loads the application."""
    if "gamebackend.wsgi" in sys.modules:
        return importlib.reload(sys.modules["gamebackend.wsgi"])
    return importlib.import_module("gamebackend.wsgi")


def test_the_wsgi_start_fails_loudly_without_the_manifest(manifest_settings):
    with pytest.raises(ImproperlyConfigured, match=r"gamebackend\.E001.*staticfiles\.json"):
        wsgi_start()


def test_the_wsgi_start_succeeds_with_the_manifest(manifest_settings):
    write_manifest(manifest_settings, PAGE_STATIC_FILES)

    module = wsgi_start()

    assert callable(module.application)
