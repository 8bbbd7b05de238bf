"""Mail as an integration: recorded once per event, rendered in the recipient's language, delivered
after commit over real SMTP (aiosmtpd) or into the development mailbox, retried with backoff,
refused for good on a permanent answer, and found again when its job was lost."""

from __future__ import annotations

import datetime as dt
import logging
import ssl
from contextlib import contextmanager
from dataclasses import replace

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from flask_babel import lazy_gettext as _l

from app.db_types import utcnow
from app.extensions import db
from app.integrations.mail import MailStatus, delivery, external_url, register_template, send_mail
from app.integrations.mail.transports import SmtpTransport
from app.jobs import Queues, queue
from tests.mailing import SmtpInbox, mails, work_mail
from tests.queues import run_due_retries

WELCOME = register_template("auth.password_reset", _l("Reset your Relay CRM password"))
CONTEXT = {"name": "Ann", "reset_url": "http://relay.test/auth/password/reset/abc", "minutes": 60}


def ask(key: str = "test:1", language: str = "en", to: str = "ann@example.com"):
    mail = send_mail(WELCOME, to=to, language=language, dedupe_key=key, context=CONTEXT)
    db.session.commit()
    return mail


def test_a_mail_is_delivered_over_smtp_after_commit_with_text_and_html(smtp_server):
    mail = ask()
    assert mail.status == MailStatus.QUEUED and smtp_server.envelopes == []  # nothing before the job

    work_mail()

    [message] = smtp_server.messages
    assert message["To"] == "ann@example.com" and message["Subject"] == "Reset your Relay CRM password"
    assert message["From"] == "Relay CRM <no-reply@relay.localhost>"
    assert message["Message-ID"].strip() == mail.message_id
    assert "http://relay.test/auth/password/reset/abc" in smtp_server.text_of(message)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert 'href="http://relay.test/auth/password/reset/abc"' in html
    db.session.refresh(mail)
    assert (mail.status, mail.attempts, mail.transport, mail.last_error) == (MailStatus.SENT, 1, "smtp", None)
    assert mail.sent_at is not None
    assert mail.text_body is None and mail.html_body is None  # links to sign in are not kept once sent


def test_a_mail_is_written_in_the_recipients_language(smtp_server):
    ask(language="ru")
    work_mail()
    [message] = smtp_server.messages
    assert message["Subject"] == "Сброс пароля Relay CRM"
    assert message["Content-Language"] == "ru"
    assert "Здравствуйте, Ann" in smtp_server.text_of(message)


def test_the_same_event_asking_twice_gets_one_mail(smtp_server):
    first = ask(key="reset:7:abc")
    second = ask(key="reset:7:abc")
    work_mail()
    assert first.id == second.id
    assert len(mails()) == 1 and len(smtp_server.envelopes) == 1
    delivery.deliver(first.id)  # a stray copy of the job
    assert len(smtp_server.envelopes) == 1


def test_a_rolled_back_request_records_and_sends_nothing(smtp_server):
    send_mail(WELCOME, to="ann@example.com", language="en", dedupe_key="k", context=CONTEXT)
    db.session.rollback()
    work_mail()
    assert mails() == [] and smtp_server.envelopes == [] and queue(Queues.EMAIL).count == 0


def test_without_smtp_the_development_mailbox_keeps_the_mail_and_logs_its_links(caplog):
    caplog.set_level(logging.INFO, logger="app.mail")
    mail = ask()
    work_mail()
    db.session.refresh(mail)
    assert (mail.status, mail.transport) == (MailStatus.SENT, "mailbox")
    assert "http://relay.test/auth/password/reset/abc" in mail.text_body  # kept: the mailbox shows it
    assert "links: http://relay.test/auth/password/reset/abc" in caplog.text


def test_a_server_that_cannot_be_reached_is_retried_with_backoff_until_it_answers(app, smtp_server):
    settings = app.config["SETTINGS"]
    app.config["SETTINGS"] = replace(settings, smtp_url="smtp://127.0.0.1:9")  # nothing listens there
    mail = ask()
    work_mail()
    db.session.refresh(mail)
    assert (mail.status, mail.attempts) == (MailStatus.QUEUED, 1)
    assert "ConnectionRefusedError" in mail.last_error
    scheduled = queue(Queues.EMAIL).scheduled_job_registry
    assert scheduled.get_job_ids() == [f"mail-{mail.id}"]  # RQ holds the retry, 10 s on

    app.config["SETTINGS"] = settings  # the server is back
    assert run_due_retries(Queues.EMAIL) == 1
    work_mail()
    db.session.refresh(mail)
    assert (mail.status, mail.attempts, mail.last_error) == (MailStatus.SENT, 2, None)
    assert len(smtp_server.envelopes) == 1


def test_a_temporary_refusal_is_retried_and_a_permanent_one_is_not(smtp_server):
    smtp_server.refuse_with = "451 4.3.0 Try again later"
    mail = ask(key="a")
    work_mail()
    db.session.refresh(mail)
    assert (mail.status, mail.attempts) == (MailStatus.QUEUED, 1) and "451" in mail.last_error

    smtp_server.refuse_with = "550 5.1.1 No such mailbox"
    refused = ask(key="b")
    work_mail()
    db.session.refresh(refused)
    assert (refused.status, refused.attempts) == (MailStatus.FAILED, 1) and "550" in refused.last_error
    assert f"mail-{refused.id}" not in queue(Queues.EMAIL).scheduled_job_registry.get_job_ids()


def test_a_mail_fails_for_good_after_its_last_attempt(app, smtp_server):
    app.config["SETTINGS"] = replace(app.config["SETTINGS"], smtp_url="smtp://127.0.0.1:9")
    mail = ask()
    work_mail()
    for _ in range(delivery.MAX_ATTEMPTS - 1):
        run_due_retries(Queues.EMAIL)
        work_mail()
    db.session.refresh(mail)
    assert (mail.status, mail.attempts) == (MailStatus.FAILED, delivery.MAX_ATTEMPTS)
    assert run_due_retries(Queues.EMAIL) == 0


def test_an_attempt_under_way_is_not_repeated_but_one_that_died_is(smtp_server):
    mail = ask()
    mail.status, mail.attempts, mail.sending_since = MailStatus.SENDING, 1, utcnow()
    db.session.commit()
    assert delivery.deliver(mail.id) == "skipped"  # another worker is sending it right now
    assert smtp_server.envelopes == []

    mail.sending_since = utcnow() - delivery.SENDING_GRACE - dt.timedelta(seconds=1)
    db.session.commit()
    assert delivery.deliver(mail.id) == MailStatus.SENT  # that worker died mid-way
    db.session.refresh(mail)
    assert mail.attempts == 2 and len(smtp_server.envelopes) == 1


def test_the_sweep_re_enqueues_mail_whose_job_was_lost(smtp_server):
    lost = ask(key="lost")
    fresh = ask(key="fresh")
    queue(Queues.EMAIL).empty()  # the process died between the commit and the enqueue
    lost.created_at = utcnow() - delivery.QUEUED_GRACE - dt.timedelta(seconds=1)
    db.session.commit()

    assert delivery.sweep_mail() == 1  # the fresh one may still be on its way
    work_mail()
    db.session.refresh(lost)
    db.session.refresh(fresh)
    assert lost.status == MailStatus.SENT and fresh.status == MailStatus.QUEUED
    assert delivery.sweep_mail() == 0


def test_smtp_urls_name_the_security_the_port_and_encoded_credentials():
    t = SmtpTransport.from_url("smtp+starttls://me%40corp.ru:p%3Ass@mail.corp.ru", "x@corp.ru")
    assert (t.host, t.port, t.security, t.username, t.password) == ("mail.corp.ru", 587, "starttls",
                                                                    "me@corp.ru", "p:ss")
    assert SmtpTransport.from_url("smtps://mail.corp.ru", "x").port == 465
    assert SmtpTransport.from_url("smtp://relay:2525", "x").security == "plain"
    with pytest.raises(ValueError):
        SmtpTransport.from_url("http://mail.corp.ru", "x")


@pytest.fixture
def tls_files(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1, trusted by the client through SSL_CERT_FILE (as a
    company CA would be through the system store)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


@contextmanager
def tls_server(app, scheme, **options):
    """A TLS-speaking SMTP server with a login (``bot@relay.test`` / ``s3cret``) the app mails
    through with ``scheme`` for the block; yields its inbox and the logins it was offered."""
    from tests.conftest import _free_port

    inbox, logins, settings = SmtpInbox(), [], app.config["SETTINGS"]

    def authenticate(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cret")

    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=authenticate,
                            server_hostname="127.0.0.1", **options)
    controller.start()
    app.config["SETTINGS"] = replace(settings, smtp_url=f"{scheme}://bot%40relay.test:s3cret@127.0.0.1:{controller.port}")
    try:
        yield inbox, logins
    finally:
        controller.stop()
        app.config["SETTINGS"] = settings


def test_starttls_is_required_the_certificate_checked_and_the_login_sent_inside(app, tls_files):
    with tls_server(app, "smtp+starttls", tls_context=tls_files, require_starttls=True) as (inbox, logins):
        mail = ask()
        work_mail()
    db.session.refresh(mail)
    assert mail.status == MailStatus.SENT and len(inbox.envelopes) == 1
    assert logins == [("bot@relay.test", "s3cret")]


def test_smtps_speaks_tls_from_the_first_byte(app, tls_files):
    # aiosmtpd counts only STARTTLS as TLS for AUTH; this line is TLS from its first byte
    with tls_server(app, "smtps", ssl_context=tls_files, auth_require_tls=False) as (inbox, logins):
        mail = ask()
        work_mail()
    db.session.refresh(mail)
    assert mail.status == MailStatus.SENT and len(inbox.envelopes) == 1
    assert logins == [("bot@relay.test", "s3cret")]


def test_a_certificate_the_client_does_not_trust_is_refused(app, tls_files, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")
    with tls_server(app, "smtp+starttls", tls_context=tls_files, require_starttls=True) as (inbox, logins):
        mail = ask()
        work_mail()
    db.session.refresh(mail)
    assert mail.status == MailStatus.QUEUED and "CERTIFICATE_VERIFY_FAILED" in mail.last_error
    assert inbox.envelopes == [] and logins == []  # the password never left over an unchecked line


def test_links_start_with_the_public_url_never_with_the_host_a_request_claims(app):
    settings = app.config["SETTINGS"]
    with app.test_request_context("/", base_url="http://evil.example"):
        assert external_url("auth.sign_in") == "http://evil.example/auth/signin"  # development only
        app.config["SETTINGS"] = replace(settings, public_url="https://crm.example.com")
        try:
            assert external_url("auth.sign_in") == "https://crm.example.com/auth/signin"
        finally:
            app.config["SETTINGS"] = settings
    assert external_url("auth.sign_in", base="http://127.0.0.1:5055/") == "http://127.0.0.1:5055/auth/signin"
