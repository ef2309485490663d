"""The viewer behind the FHIR API's tokens: login, session cookie, bearer, cross-site posts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.ui.auth import COOKIE, SESSION_SECONDS, safe_next, session_value, valid_session
from tests.ui.conftest import viewer_app

TOKEN = "s3cret-token-0123456789"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(viewer_app(api_tokens=[TOKEN]), raise_server_exceptions=False) as c:
        yield c


def test_pages_redirect_to_login_and_static_files_are_open(client: TestClient) -> None:
    response = client.get("/ui/documents/medrec-0001", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=/ui/documents/medrec-0001"
    assert client.get("/ui/", follow_redirects=False).headers["location"] == "/ui/login"
    posted = client.post("/ui/playground", data={"text": "x"}, follow_redirects=False)
    assert posted.status_code == 303
    assert client.get("/ui/static/viewer.css").status_code == 200
    assert "API token" in client.get("/ui/login").text


def test_login_sets_a_strict_session_cookie_that_is_not_the_token(client: TestClient) -> None:
    refused = client.post("/ui/login", data={"token": "wrong", "next": "/ui/"})
    assert refused.status_code == 401
    assert "[NLP805]" in refused.text
    done = client.post(
        "/ui/login",
        data={"token": TOKEN, "next": "/ui/documents/medrec-0001"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/ui/documents/medrec-0001"
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/ui" in cookie
    assert TOKEN not in cookie
    page = client.get("/ui/documents/medrec-0001")
    assert page.status_code == 200
    assert "Sign out" in page.text
    # the cookie is no credential for the FHIR API
    assert client.get("/DocumentReference/medrec-0001").status_code == 401
    out = client.post("/ui/logout", follow_redirects=False)
    assert out.headers["location"] == "/ui/login"
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_bearer_token_works_as_for_the_fhir_api(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/ui/", headers=headers).status_code == 200
    wrong = client.get("/ui/", headers={"Authorization": "Bearer nope"}, follow_redirects=False)
    assert wrong.status_code == 303


def test_cross_site_posts_are_refused(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for extra in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}):
        response = client.post("/ui/documents", data={}, headers={**headers, **extra})
        assert response.status_code == 403
        assert "[NLP804]" in response.text
    same = {"Sec-Fetch-Site": "same-origin", "Origin": "null"}
    assert client.post("/ui/documents", data={}, headers={**headers, **same}).status_code == 200
    login = client.post("/ui/login", data={"token": TOKEN}, headers={"Sec-Fetch-Site": "same-site"})
    assert login.status_code == 403


def test_sessions_expire_and_die_with_their_token() -> None:
    value = session_value(TOKEN, 1000)
    assert valid_session(value, [TOKEN], 1000 + SESSION_SECONDS - 1)
    assert not valid_session(value, [TOKEN], 1000 + SESSION_SECONDS)
    assert not valid_session(value, ["another"], 1001)
    assert not valid_session("1000.deadbeef", [TOKEN], 1001)
    assert not valid_session("x.y", [TOKEN], 1001)
    assert not valid_session(None, [TOKEN], 1001)
    assert COOKIE == "docref_nlp_ui"


def test_next_never_leaves_the_viewer() -> None:
    assert safe_next("https://evil.example/ui/") == "/ui/"
    assert safe_next("/ui//evil.example") == "/ui/"
    assert safe_next("/ui/compare") == "/ui/compare"


def test_without_tokens_the_login_page_says_the_viewer_is_open() -> None:
    with TestClient(viewer_app()) as open_client:
        assert "No API tokens are configured" in open_client.get("/ui/login").text
        assert "Sign out" not in open_client.get("/ui/").text
