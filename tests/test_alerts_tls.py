"""E-mail over STARTTLS and implicit TLS, with a login from the environment, against a real
aiosmtpd server on loopback holding a self-signed certificate the client is told to trust."""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from safety.alerts import deliver_pending
from safety.config import Settings
from tests.test_alerts_outbox import CFG, NOW, Inbox, derived_with_susar, free_port, generate, only


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed: cannot make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


class Authenticator:
    def __init__(self):
        self.logins: list[str] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"vigil", b"s3cret")
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_delivery_over_tls_with_login(store, certificate, monkeypatch, mode):
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts only our test CA
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, auth, port = Inbox(), Authenticator(), free_port()
    # aiosmtpd only knows a STARTTLS session is encrypted; on an implicit-TLS port the whole
    # connection is, so its "AUTH only over TLS" switch must be off there
    tls = ({"tls_context": context, "require_starttls": True, "auth_require_tls": True} if mode == "starttls"
           else {"ssl_context": context, "auth_require_tls": False})
    server = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=auth, auth_required=True, **tls)
    server.start()
    try:
        cfg = only(CFG, "susar_new")
        assert generate(store, derived_with_susar(), cfg) == 1
        settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_tls=mode, smtp_user="vigil",
                            smtp_password="s3cret", mail_from="vigil@test.example")
        report = deliver_pending(store, settings, cfg, NOW)
        assert report.sent == 1 and len(inbox.messages) == 1 and auth.logins == ["vigil"]
        assert deliver_pending(store, settings, cfg, NOW + dt.timedelta(hours=1)).sent == 0
    finally:
        server.stop()
