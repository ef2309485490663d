"""SMART backend services: the client assertion verifies, the token is cached, 401 refreshes."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from api.store.base import StoreError
from api.store.http import HttpFhirStore
from api.store.smart import ASSERTION_TYPE, SmartBackendAuth, discover_token_url

TOKEN_URL = "https://auth.test/token"


def pem(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class FakeAuthServer:
    """Token endpoint + FHIR endpoint; verifies each assertion with the public key."""

    def __init__(self, public_key: Any, alg: str, lifetime: int = 300) -> None:
        self.public_key = public_key
        self.alg = alg
        self.lifetime = lifetime
        self.tokens_issued = 0
        self.claims: list[dict[str, Any]] = []
        self.revoked: set[str] = set()

    def verify(self, jwt: str) -> dict[str, Any]:
        h, p, s = jwt.split(".")
        header = json.loads(b64d(h))
        assert header["alg"] == self.alg
        assert header["kid"] == "k1"
        signing_input, sig = f"{h}.{p}".encode(), b64d(s)
        if self.alg == "RS384":
            self.public_key.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA384())
        else:
            assert len(sig) == 96
            der = encode_dss_signature(
                int.from_bytes(sig[:48], "big"), int.from_bytes(sig[48:], "big")
            )
            self.public_key.verify(der, signing_input, ec.ECDSA(hashes.SHA384()))
        claims: dict[str, Any] = json.loads(b64d(p))
        return claims

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            assert form["grant_type"] == "client_credentials"
            assert form["client_assertion_type"] == ASSERTION_TYPE
            self.claims.append(self.verify(form["client_assertion"]))
            self.tokens_issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"t{self.tokens_issued}",
                    "expires_in": self.lifetime,
                    "token_type": "bearer",
                },
            )
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer t") or auth[7:] in self.revoked:
            return httpx.Response(401)
        return httpx.Response(
            200, json={"resourceType": "DocumentReference", "id": "d1", "tok": auth[7:]}
        )


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_assertion_verifies_and_token_is_cached_until_expiry(alg: str) -> None:
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if alg == "RS384"
        else ec.generate_private_key(ec.SECP384R1())
    )
    server = FakeAuthServer(key.public_key(), alg, lifetime=300)
    now = [1_000_000.0]
    auth = SmartBackendAuth(
        TOKEN_URL, "client-1", pem(key), alg=alg, kid="k1", clock=lambda: now[0]
    )  # type: ignore[arg-type]
    store = HttpFhirStore(
        "https://fhir.test/r4", httpx.Client(transport=httpx.MockTransport(server)), auth
    )

    assert store.read("DocumentReference", "d1")["tok"] == "t1"  # type: ignore[index]
    assert store.read("DocumentReference", "d1")["tok"] == "t1"  # type: ignore[index]
    assert server.tokens_issued == 1
    c = server.claims[0]
    assert c["iss"] == c["sub"] == "client-1"
    assert c["aud"] == TOKEN_URL
    assert c["exp"] == 1_000_300
    now[0] += 250  # within the 60 s skew of expiry -> refresh
    assert store.read("DocumentReference", "d1")["tok"] == "t2"  # type: ignore[index]
    assert server.tokens_issued == 2
    assert server.claims[0]["jti"] != server.claims[1]["jti"]


def test_401_refreshes_the_token_once() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    server = FakeAuthServer(key.public_key(), "ES384")
    auth = SmartBackendAuth(TOKEN_URL, "c", pem(key), alg="ES384", kid="k1")
    store = HttpFhirStore(
        "https://fhir.test/r4", httpx.Client(transport=httpx.MockTransport(server)), auth
    )
    store.read("DocumentReference", "d1")
    server.revoked.add("t1")
    assert store.read("DocumentReference", "d1")["tok"] == "t2"  # type: ignore[index]
    assert server.tokens_issued == 2


def test_wrong_key_type_and_refused_assertion_are_coded() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    auth = SmartBackendAuth(TOKEN_URL, "c", pem(key), alg="RS384")
    with pytest.raises(StoreError, match="NLP521"):
        auth.assertion()
    refuse = httpx.MockTransport(lambda r: httpx.Response(400, json={"error": "invalid_client"}))
    auth2 = SmartBackendAuth(TOKEN_URL, "c", pem(key), alg="ES384")
    with pytest.raises(StoreError, match="NLP522"):
        httpx.Client(transport=refuse, auth=auth2).get("https://fhir.test/r4/metadata")


def test_discover_token_url() -> None:
    conf = {"token_endpoint": TOKEN_URL, "capabilities": ["client-confidential-asymmetric"]}
    client = httpx.Client(
        transport=httpx.MockTransport(
            lambda r: (
                httpx.Response(200, json=conf)
                if r.url.path == "/r4/.well-known/smart-configuration"
                else httpx.Response(404)
            )
        )
    )
    assert discover_token_url(client, "https://fhir.test/r4/") == TOKEN_URL
    with pytest.raises(StoreError, match="NLP524"):
        discover_token_url(client, "https://fhir.test/other")
