"""The README's first command: `vigil serve --demo` starts the scheduler and the dashboard on the
demo study, prints a working login, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_demo_runs_the_service_and_the_dashboard(tmp_path):
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k not in ("VIGIL_DATABASE_URL", "VIGIL_SECRET_KEY", "VIGIL_CONFIG")}
    vigil = str(Path(sys.executable).with_name("vigil"))
    proc = subprocess.Popen([vigil, "serve", "--demo", "--data-dir", str(tmp_path / "demo"), "--port", str(port)],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while "dashboard: http" not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        text = log.read_text()
        user, password = re.search(r"demo dashboard user: (\S+) / (\S+)", text).groups()
        base = f"http://127.0.0.1:{port}"
        anonymous = requests.get(base + "/", allow_redirects=False, timeout=10)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
        session = requests.Session()
        form = session.get(base + "/login", timeout=10).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        login = session.post(base + "/login", data={"username": user, "password": password, "csrf": csrf},
                             timeout=10)
        assert login.status_code == 200 and "/login" not in login.url
        assert (tmp_path / "demo" / "sdtm" / "dm.xpt").exists()
        assert "job cycle failed" not in text
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert code == 0, log.read_text()[-3000:]
