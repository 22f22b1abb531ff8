"""What follow-ups and notices carry besides their text: Reply-To (the account manager),
List-Id, and a DKIM signature when a key is configured (verified with dkimpy)."""

import base64
import shutil
import subprocess
from email import message_from_bytes, policy

import dkim as dkimpy
import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives, get_connection

from retention.models import OutgoingEmail
from retention.outreach import dkim, headers, outbox

from .factories import CustomerFactory, UserFactory
from .outbox_helpers import make_template, queue_email, without_starter_followups  # noqa: F401
from .smtp_server import Recorder, SMTPServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def template():
    return make_template(en=("Hello {{ first_name }}", "Dear {{ first_name }}, just reply."))


@pytest.fixture
def owner():
    return UserFactory(username="jo", first_name="Jörg", last_name="Maier", email="jo@example.com")


def _sent_headers() -> dict[str, str]:
    (message,) = mail.outbox
    return message.extra_headers


def test_a_follow_up_replies_to_the_account_manager_and_names_its_list(settings, template, owner):
    settings.SITE_URL = "https://crm.example.com"
    settings.BUSINESS_NAME = "Acme"
    queue_email(CustomerFactory(marketing_consent=True, owner=owner), template)
    outbox.deliver()
    sent = _sent_headers()
    assert sent["Reply-To"] == "=?utf-8?q?J=C3=B6rg_Maier?= <jo@example.com>"
    assert sent["List-Id"] == "Acme follow-ups <follow-ups.crm.example.com>"
    assert sent["List-Unsubscribe"].startswith("<https://crm.example.com/")


def test_without_an_account_manager_address_there_is_no_reply_to(template):
    nobody = UserFactory(username="noaddress", email="")
    queue_email(CustomerFactory(marketing_consent=True, owner=nobody), template, key="a")
    queue_email(CustomerFactory(marketing_consent=True, owner=None), template, key="b")
    outbox.deliver()
    assert [m.extra_headers.get("Reply-To") for m in mail.outbox] == [None, None]
    assert all("List-Id" in m.extra_headers for m in mail.outbox)


def test_a_staff_notice_names_its_own_list_and_has_no_unsubscribe(settings, owner):
    settings.SITE_URL = "https://crm.example.com"
    OutgoingEmail.objects.create(
        customer=CustomerFactory(owner=owner),
        kind=OutgoingEmail.Kind.STAFF_NOTICE,
        recipient_user=owner,
        to_email=owner.email,
        idempotency_key="notice",
    )
    outbox.deliver()
    sent = _sent_headers()
    assert sent["List-Id"].endswith("<crm-notices.crm.example.com>")
    assert "List-Unsubscribe" not in sent and "Reply-To" not in sent


def test_the_headers_reach_the_smtp_server_parseable(settings, template, owner):
    settings.SITE_URL = "https://crm.example.com"
    settings.BUSINESS_NAME = "Müller & Söhne"
    queue_email(CustomerFactory(marketing_consent=True, owner=owner), template)
    recorder = Recorder()
    with SMTPServer(recorder) as server:
        for name, value in server.settings().items():
            setattr(settings, name, value)
        assert outbox.deliver().sent == 1
    parsed = message_from_bytes(recorder.messages[0][2], policy=policy.default)
    assert parsed["Reply-To"].addresses[0].display_name == "Jörg Maier"
    assert parsed["Reply-To"].addresses[0].addr_spec == "jo@example.com"
    assert str(parsed["List-Id"]) == "Müller & Söhne follow-ups <follow-ups.crm.example.com>"


@pytest.mark.parametrize(
    ("site_url", "identifier"),
    [
        ("https://crm.example.com:8443/app", "surveys.crm.example.com"),
        ("https://bücher.example/", "surveys.xn--bcher-kva.example"),
        ("http://[::1]:8000", "surveys.localhost"),
    ],
)
def test_list_id_takes_its_namespace_from_site_url(settings, site_url, identifier):
    settings.SITE_URL = site_url
    assert headers.list_id("surveys") == f"<{identifier}>"


def test_apply_list_headers_adds_list_id_and_one_click_unsubscribe_to_a_django_message(
    settings,
):
    settings.SITE_URL = "https://crm.example.com"
    message = EmailMultiAlternatives(subject="Your opinion", body="b", to=["a@example.org"])
    headers.apply_list_headers(
        message,
        label="surveys",
        description="Acme surveys",
        unsubscribe_url="https://crm.example.com/u/abc/",
    )
    assert message.extra_headers == {
        "List-Id": "Acme surveys <surveys.crm.example.com>",
        "List-Unsubscribe": "<https://crm.example.com/u/abc/>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    with pytest.raises(ValueError):
        headers.list_id("no spaces allowed")
    with pytest.raises(ValueError):
        headers.list_headers(label="x", description="", unsubscribe_url="https://a/ b")


# --- DKIM -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory):
    """A fresh RSA key pair: the private key (PEM) and the public key as DNS publishes it."""
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a test key")
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "private.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True)  # noqa: S603,S607
    public_der = subprocess.run(  # noqa: S603
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],  # noqa: S607
        check=True,
        capture_output=True,
    ).stdout
    return private.read_text(), base64.b64encode(public_der)


@pytest.fixture
def signing(settings, dkim_key):
    settings.DKIM_SELECTOR, settings.DKIM_DOMAIN = "crm2026", "example.com"
    settings.DKIM_PRIVATE_KEY = dkim_key[0]
    settings.EMAIL_BACKEND = "retention.outreach.dkim.SigningEmailBackend"
    return dkim_key[1]


def _dns(public_key: bytes):
    asked = []

    def txt(name: bytes, timeout: int = 5) -> bytes | None:
        asked.append(name)
        if name.rstrip(b".") == b"crm2026._domainkey.example.com":
            return b"v=DKIM1; k=rsa; p=" + public_key
        return None

    txt.asked = asked
    return txt


def test_outbox_emails_are_dkim_signed_and_verify_against_the_public_key(
    settings, signing, template, owner
):
    queue_email(CustomerFactory(marketing_consent=True, owner=owner), template)
    recorder = Recorder()
    with SMTPServer(recorder) as server:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = (
            False,
            "",
            "",
        )
        assert outbox.deliver().sent == 1
    raw = recorder.messages[0][2]
    assert raw.startswith(b"DKIM-Signature:")
    dns = _dns(signing)
    assert dkimpy.verify(raw, dnsfunc=dns)
    assert dns.asked  # the key really came from the (fake) DNS
    signed = message_from_bytes(raw)["DKIM-Signature"].replace("\r\n", "").replace(" ", "")
    for name in ("from", "to", "subject", "message-id", "reply-to", "list-id"):
        assert name in signed.split("h=")[1].split(";")[0].split(":")
    assert "list-unsubscribe-post" in signed  # RFC 8058 asks for it to be signed
    tampered = raw.replace(b"Subject: Hello", b"Subject: Hallo")
    assert not dkimpy.verify(tampered, dnsfunc=dns)


def test_any_email_through_the_signing_backend_is_signed(settings, signing):
    """Survey emails and Django's own go through the same backend."""
    recorder = Recorder()
    with SMTPServer(recorder) as server:
        connection = get_connection(
            host="127.0.0.1", port=server.port, username="", password="", use_tls=False
        )
        EmailMultiAlternatives(
            subject="Übersicht", body="Hallo\n.\nEnde", to=["a@example.org"], connection=connection
        ).send()
    raw = recorder.messages[0][2]
    assert dkimpy.verify(raw, dnsfunc=_dns(signing))


def test_without_a_key_nothing_is_signed(settings):
    settings.DKIM_SELECTOR = settings.DKIM_DOMAIN = settings.DKIM_PRIVATE_KEY = ""
    raw = b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n"
    assert not dkim.enabled()
    assert dkim.sign(raw) == raw
