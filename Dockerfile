# syntax=docker/dockerfile:1
# Any image with Python 3.11+ and its venv module works as the base; bin/image-check builds on a
# Debian base with Debian's python3 (--build-arg BASE_IMAGE=...), since no registry is reachable.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE} AS base

# The dependencies live in a virtual environment, so the base's own Python packages (a
# distribution's python3 refuses pip installs into it) are never touched.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python3 -m venv /opt/venv

WORKDIR /app

# Dependencies first, pinned by constraints.txt, so code changes do not reinstall them.
COPY pyproject.toml constraints.txt README.md ./
RUN mkdir -p gamebackend accounts economy telemetry analytics \
    && touch gamebackend/__init__.py accounts/__init__.py economy/__init__.py \
       telemetry/__init__.py analytics/__init__.py \
    && pip install -c constraints.txt . \
    && pip uninstall -y gamebackend

COPY . .

RUN groupadd --system app && useradd --system --gid app --home /app app \
    && mkdir -p /app/data /app/reports /app/staticfiles \
    && DEBUG=false JWT_SECRET=build-only-secret-not-used-at-runtime-000 ENV_FILE=/dev/null \
       python manage.py collectstatic --noinput -v 0 \
    && chown -R app:app /app/data /app/reports

USER app
ENV BIND=0.0.0.0:8000 \
    DATA_DIR=/app/data \
    REPORTS_DIR=/app/reports
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"

CMD ["gunicorn", "-c", "gunicorn.conf.py", "gamebackend.wsgi"]
