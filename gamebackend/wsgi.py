import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gamebackend.settings")

application = get_wsgi_application()

# A start that would serve broken pages (no static files manifest) fails here, loudly, in
# every gunicorn worker: gunicorn then stops with "Worker failed to boot".
from core.checks import start_checks  # noqa: E402 (needs the apps loaded)

start_checks()
