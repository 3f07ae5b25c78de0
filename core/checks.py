"""System checks of the project, and the ones every server start runs (gamebackend.wsgi).

Outside DEBUG the static files are served through whitenoise's manifest storage: every
`{% static %}` looks its file up in STATIC_ROOT/staticfiles.json, so without that manifest
(collectstatic not run, or run with other settings) /docs, /redoc and every admin page answer
500 while /health stays green. The check makes such a start fail at once instead.
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.checks import CheckMessage, Error, register, run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages
from django.utils.module_loading import import_string

STATICFILES_STORAGE_ALIAS = "staticfiles"

START_TAG = "gamebackend_start"
# Files the served pages name: the admin's stylesheet, Swagger UI and ReDoc.
PAGE_STATIC_FILES = [
    "admin/css/base.css",
    "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
    "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js",
]


# deploy=True: `manage.py check --deploy` reports it, and so does every server start, but
# `migrate` or `collectstatic` itself are not refused for the lack of it.
@register(START_TAG, deploy=True)
def static_manifest_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    backend = import_string(settings.STORAGES[STATICFILES_STORAGE_ALIAS]["BACKEND"])
    if not issubclass(backend, ManifestFilesMixin):
        return []  # DEBUG and tests: files are served by name, no manifest involved
    manifest_path = Path(settings.STATIC_ROOT) / backend.manifest_name
    hint = (
        "Run `manage.py collectstatic --noinput` with the same settings before starting "
        "(docs/operations.md)."
    )
    try:
        # Creating the storage reads the manifest too (and fails the same way).
        storage = storages[STATICFILES_STORAGE_ALIAS]
        assert isinstance(storage, ManifestFilesMixin)
        entries, _ = storage.load_manifest()
    except ValueError as exc:
        return [
            Error(
                f"The static files manifest {manifest_path} is unreadable ({exc}).",
                hint=hint,
                id="gamebackend.E001",
            )
        ]
    if not entries:
        return [
            Error(
                f"The static files manifest {manifest_path} is missing: /docs, /redoc and the "
                "admin would answer 500.",
                hint=hint,
                id="gamebackend.E001",
            )
        ]
    missing = [name for name in PAGE_STATIC_FILES if name not in entries]
    if missing:
        return [
            Error(
                f"The static files manifest {manifest_path} lacks {', '.join(missing)}: the "
                "pages that use them would answer 500.",
                hint=hint,
                id="gamebackend.E002",
            )
        ]
    return []


def start_checks() -> None:
    """The checks a server start must pass; an error stops the start with its message."""
    errors = [
        message
        for message in run_checks(tags=[START_TAG], include_deployment_checks=True)
        if message.is_serious()
    ]
    if errors:
        raise ImproperlyConfigured("\n".join(str(error) for error in errors))
