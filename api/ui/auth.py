"""The viewer's access control: the FHIR API's bearer tokens, or a session cookie made from one.

When ``api_tokens`` are configured (D15), every viewer page needs either an
``Authorization: Bearer <token>`` header (as the FHIR API) or the cookie the login form sets after
checking a token. The cookie holds ``<issued>.<HMAC-SHA256(token, issued)>``: not the token
itself, useless for the FHIR API, invalid when the token is removed from the configuration or
after ``SESSION_SECONDS``. It is ``HttpOnly``, ``SameSite=Strict``, ``Path=/ui`` (and ``Secure``
over HTTPS), so other sites cannot send it. Posts from another origin are refused either way.
Without tokens (loopback only) the viewer is open, like the FHIR API.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Sequence

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from api.ui.render import LoginRequired, UiError, secure

COOKIE = "docref_nlp_ui"
SESSION_SECONDS = 8 * 3600
_NEXT = re.compile(r"^/ui/[A-Za-z0-9/._\-]*$")


def _tokens(request: Request) -> Sequence[str]:
    settings = getattr(request.app.state, "settings", None)
    return tuple(getattr(settings, "api_tokens", None) or ())


def session_value(token: str, issued: int) -> str:
    """The cookie value for ``token`` issued at ``issued`` (epoch seconds)."""
    mac = hmac.new(token.encode(), f"docref-nlp-ui|{issued}".encode(), hashlib.sha256)
    return f"{issued}.{mac.hexdigest()}"


def valid_session(value: str | None, tokens: Sequence[str], now: float) -> bool:
    """Whether ``value`` was made from one of ``tokens`` less than ``SESSION_SECONDS`` ago.

    >>> valid_session(session_value("t", 100), ["t"], 200.0)
    True
    >>> valid_session(session_value("t", 100), ["other"], 200.0)
    False
    """
    issued_text, _, _ = (value or "").partition(".")
    if not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    if not issued <= now < issued + SESSION_SECONDS:
        return False
    expected = str(value).encode()
    return any(hmac.compare_digest(session_value(t, issued).encode(), expected) for t in tokens)


def token_accepted(token: str, tokens: Sequence[str]) -> bool:
    """Constant-time check of ``token`` against the configured ones."""
    return bool(token) and any(hmac.compare_digest(token.encode(), t.encode()) for t in tokens)


def signed_in(request: Request) -> bool:
    """True when tokens are configured and this request carries a valid credential."""
    tokens = _tokens(request)
    if not tokens:
        return False
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token_accepted(token.strip(), tokens):
        return True
    return valid_session(request.cookies.get(COOKIE), tokens, time.time())


def require_viewer(request: Request) -> None:
    """Dependency of every viewer page: signed in (when tokens are configured), same origin.

    Raises:
        LoginRequired: no valid token or session (the handler redirects to the login page).
        UiError: ``[NLP804]`` a post from another origin.
    """
    check_origin(request)
    if not _tokens(request):
        return
    if not signed_in(request):
        raise LoginRequired(request.url.path)
    request.state.ui_signed_in = True


def check_origin(request: Request) -> None:
    """Refuse state-changing or expensive posts that another site's page sent.

    Raises:
        UiError: ``[NLP804]`` cross-site request.
    """
    if request.method in ("GET", "HEAD"):
        return
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:  # browsers since 2020-2023 say where a request comes from
        if fetch_site in ("same-origin", "none"):
            return
        raise UiError(403, "NLP804", "cross-site posts to the viewer are refused")
    # Older browsers: an Origin, when sent, must be ours ("null" under no-referrer is refused,
    # as a sandboxed frame sends it too); clients without Origin are not browsers.
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin is not None and origin != own:
        raise UiError(403, "NLP804", "cross-site posts to the viewer are refused")


def safe_next(value: str | None) -> str:
    """Where to go after login: a viewer path, never another site.

    >>> safe_next("/ui/documents/abc"), safe_next("//evil.example/"), safe_next(None)
    ('/ui/documents/abc', '/ui/', '/ui/')
    """
    return value if value and _NEXT.match(value) and "//" not in value else "/ui/"


def login_redirect(exc: LoginRequired) -> Response:
    """303 to the login page, remembering the viewer path (ids only, no PHI)."""
    target = "/ui/login"
    if exc.next_path != "/ui/":
        target += f"?next={safe_next(exc.next_path)}"
    return secure(RedirectResponse(target, status_code=303))


def start_session(request: Request, token: str, next_path: str) -> Response | None:
    """The redirect that sets the session cookie, or ``None`` when the token is refused."""
    if not token_accepted(token, _tokens(request)):
        return None
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        COOKIE,
        session_value(token, int(time.time())),
        max_age=SESSION_SECONDS,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return secure(response)


def end_session() -> Response:
    """Clear the cookie and go to the login page."""
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict")
    return secure(response)


def tokens_configured(request: Request) -> bool:
    return bool(_tokens(request))
