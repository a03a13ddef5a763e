"""Login for the dashboard: flask-login sessions over the store's users, and one guard for everything.

The guard is a Flask `before_request`, so it covers every page, every Dash callback
(`/_dash-update-component`), every download and anything added later; only the login form and
static files are open. Callback POSTs also carry a CSRF token (double submit: Dash 4's renderer
copies the `_csrf_token` cookie into the `X-CSRFToken` header), so another site cannot make a
logged-in browser acknowledge an alert.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlparse

import flask
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from safety import users as user_store
from safety.store import Store

CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
OPEN_PATHS = ("/login", "/_favicon.ico", "/favicon.ico")
OPEN_PREFIXES = ("/assets/", "/_dash-component-suites/")

_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil: sign in</title>
<link rel="stylesheet" href="/assets/vigil.css"></head>
<body class="login-body"><main class="login-box">
<h1>Vigil</h1><p class="login-study">{{ study }}</p>
{% if error %}<p class="login-error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{{ csrf }}"><input type="hidden" name="next" value="{{ next }}">
<label>User name <input id="username" name="username" autocomplete="username" required autofocus></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label>
<button id="login-button" type="submit">Sign in</button>
</form></main></body></html>"""


@dataclass
class SessionUser(UserMixin):
    user_id: int
    username: str
    role: str

    def get_id(self) -> str:
        return str(self.user_id)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: a login link must not be able to send the user elsewhere."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _csrf_ok(sent: str | None) -> bool:
    """The token sent matches this session's; a session without one matches nothing (not even "")."""
    expected = flask.session.get("csrf") or ""
    return bool(expected) and hmac.compare_digest(sent or "", expected)


def _session_csrf() -> str:
    token = flask.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        flask.session["csrf"] = token
    return token


def current_username() -> str | None:
    return current_user.username if current_user and current_user.is_authenticated else None


def current_role() -> str | None:
    return current_user.role if current_user and current_user.is_authenticated else None


def setup_auth(server: flask.Flask, store: Store, study_label: str, *, secure_cookies: bool = False) -> None:
    manager = LoginManager()
    manager.session_protection = "strong"
    manager.init_app(server)
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                         SESSION_COOKIE_SECURE=secure_cookies)

    @manager.user_loader
    def load_user(user_id: str) -> SessionUser | None:
        # read on every request, so a disabled user is out at their next click
        user = user_store.get_user_by_id(store, int(user_id)) if user_id.isdigit() else None
        if user is None or not user.active:
            return None
        return SessionUser(user.id, user.username, user.role)

    @server.before_request
    def require_login():
        path = flask.request.path
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return None
        if not current_user.is_authenticated:
            if flask.request.method != "GET" or path.startswith("/_"):
                return flask.Response("authentication required", status=401, mimetype="text/plain")
            return flask.redirect("/login?next=" + flask.request.full_path.rstrip("?"))
        if flask.request.method == "POST" and path != "/logout":  # the logout form carries its own token
            if not _csrf_ok(flask.request.headers.get(CSRF_HEADER)):
                return flask.Response("missing or wrong CSRF token", status=403, mimetype="text/plain")
        return None

    @server.after_request
    def security_headers(response: flask.Response) -> flask.Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @server.route("/login", methods=["GET", "POST"])
    def login():
        error = None
        next_url = _safe_next(flask.request.values.get("next"))
        if flask.request.method == "POST":
            form = flask.request.form
            if not _csrf_ok(form.get("csrf")):
                error = "The form expired; please sign in again."
            else:
                username = form.get("username", "").strip()
                user = user_store.verify_login(store, username, form.get("password", ""))
                with store.write() as conn:
                    store.audit(conn, username or "(blank)", "login" if user else "login_failed", username,
                                {"remote": flask.request.remote_addr})
                if user is None:
                    error = "Unknown user name or wrong password."
                else:
                    flask.session.clear()
                    # "new since your last visit" is measured from the visit before this login
                    flask.session["since"] = user.last_seen_at.isoformat() if user.last_seen_at else None
                    login_user(SessionUser(user.id, user.username, user.role))
                    user_store.touch(store, user.id, login=True)
                    response = flask.redirect(next_url)
                    response.set_cookie(CSRF_COOKIE, _session_csrf(), samesite="Strict", secure=secure_cookies,
                                        httponly=False)  # the renderer must read it to send it back
                    return response
        body = flask.render_template_string(_LOGIN_PAGE, error=error, csrf=_session_csrf(), next=next_url,
                                            study=study_label)
        return flask.Response(body, status=401 if error else 200, mimetype="text/html")

    @server.route("/logout", methods=["POST", "GET"])
    def logout():
        if current_user.is_authenticated:
            if flask.request.method == "POST" and not _csrf_ok(flask.request.form.get("csrf")):
                return flask.Response("missing or wrong CSRF token", status=403, mimetype="text/plain")
            if flask.request.method == "GET":
                # a GET cannot log out (a link on another site could); show the button instead
                return flask.redirect("/")
            user_store.touch(store, int(current_user.get_id()))
            with store.write() as conn:
                store.audit(conn, current_user.username, "logout", current_user.username)
            logout_user()
        flask.session.clear()
        response = flask.redirect("/login")
        response.delete_cookie(CSRF_COOKIE)
        return response


def session_csrf() -> str:
    """The CSRF token of this session (for the logout form)."""
    return _session_csrf()


__all__ = ["SessionUser", "current_role", "current_username", "session_csrf", "setup_auth"]
