"""/healthz/ (readiness: the database and the broker answer) and /livez/ (liveness)."""

import pytest
from django.db import OperationalError, connection
from django.test import override_settings

from .smtp_server import free_port

pytestmark = pytest.mark.django_db


def _unreachable(*args, **kwargs):
    raise OperationalError("could not connect to server: Connection refused")


def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz/")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["failed"], body["checks"]["database"]) == ("ok", [], "ok")


def test_healthz_answers_503_naming_the_database_when_it_is_unreachable(client, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", _unreachable)
        response = client.get("/healthz/")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["failed"]) == ("fail", ["database"])
    assert body["checks"]["database"] == "error: OperationalError"
    assert "Connection refused" not in response.text  # no details for anonymous callers


def test_healthz_names_a_redis_broker_that_does_not_answer(client):
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/healthz/")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


def test_a_filesystem_broker_is_not_checked(client):
    with override_settings(CELERY_BROKER_URL="filesystem://"):
        body = client.get("/healthz/").json()
    assert body["checks"]["broker"] == "skipped" and body["status"] == "ok"


def test_livez_stays_trivial_when_the_database_is_down(client, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", _unreachable)
        response = client.get("/livez/")
    assert (response.status_code, response.content) == (200, b"ok")


@pytest.mark.parametrize("path", ["/healthz/", "/livez/"])
def test_health_paths_need_no_login_and_no_https(client, path):
    """The container's probe speaks plain HTTP to 127.0.0.1 without a session."""
    with override_settings(SECURE_SSL_REDIRECT=True):
        response = client.get(path)
        assert response.status_code == 200
        assert client.get("/customers/").status_code == 301  # everything else redirects
