# Production image: gunicorn serving the app; the same image runs the Celery
# worker and beat (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var

WORKDIR /app

# pg_dump, pg_restore and psql for `manage.py backup` and `restore`: Debian 12's are
# version 15, as the db service in docker-compose.yml (pg_dump must not be older).
# gettext: msgfmt, which compilemessages needs to turn locale/*.po into .mo files.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client gettext \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && DEBUG=0 python manage.py compilemessages --ignore=.venv

RUN useradd --uid 10001 --user-group --no-create-home --home-dir /app --shell /usr/sbin/nologin crm \
    && mkdir -p /app/var/backups \
    && chown -R crm:crm /app/var

USER crm

EXPOSE 8000

# Readiness of the web server: /healthz/ answers 200 only when the database (and
# Redis) answer, 503 naming the one that failed (urlopen raises on it). /livez/ is
# the liveness path (the process answers), for an orchestrator that restarts on it.
# Sends the first ALLOWED_HOSTS entry as Host (Django rejects other hosts) and
# X-Forwarded-Proto: https, which gunicorn trusts from 127.0.0.1 (its default
# forwarded_allow_ips), so SECURE_SSL_REDIRECT does not turn the probe into a 301.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; host = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.*') or 'localhost'; req = urllib.request.Request('http://127.0.0.1:8000/healthz/', headers={'Host': host, 'X-Forwarded-Proto': 'https'}); assert urllib.request.urlopen(req, timeout=4).status == 200" || exit 1

CMD ["gunicorn", "crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
