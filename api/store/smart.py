"""SMART backend services: signed JWT client assertion -> access token -> bearer (cached)."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Generator
from typing import Any, Literal

import httpx

from api.store.base import StoreError

Algorithm = Literal["RS384", "ES384"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_jwt(
    claims: dict[str, Any], private_key_pem: bytes, alg: Algorithm, kid: str | None
) -> str:
    """A compact JWS (RS384 or ES384) of ``claims`` signed with a PEM private key.

    Raises:
        StoreError: ``NLP521`` when the key does not match the algorithm.
    """
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    key = serialization.load_pem_private_key(private_key_pem, password=None)
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    ).encode("ascii")
    if alg == "RS384" and isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA384())
    elif alg == "ES384" and isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA384())))
        size = (key.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        raise StoreError(f"SMART key type does not match {alg}", code="NLP521")
    return signing_input.decode("ascii") + "." + _b64url(signature)


class SmartBackendAuth(httpx.Auth):
    """SMART backend-services client credentials, as an ``httpx.Auth``.

    Each request gets ``Authorization: Bearer <token>``. The token comes from the token
    endpoint in exchange for a signed JWT assertion (iss = sub = client_id, aud = token URL,
    exp = now + 5 min, random jti) and is cached until ``expires_in`` minus ``skew_s``. The
    token request goes through the same httpx client (same transport, timeouts and proxies).
    A 401 answer drops the cached token and retries the request once with a new one.

    Config (constructor arguments):
        token_url: The token endpoint (from ``.well-known/smart-configuration``).
        client_id: The registered client id.
        private_key_pem: The client's private key (PEM, unencrypted).
        alg: ``RS384`` (default) or ``ES384``.
        kid: Key id of the matching public JWK (default ``None``: no ``kid``).
        scope: Requested scopes (default ``system/*.read system/*.write``; SMART v2 servers
            may want e.g. ``system/DocumentReference.rs system/*.cud``).
        skew_s: Refresh this many seconds before expiry (default 60).
        clock: Seconds since the epoch (default ``time.time``).
    """

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        private_key_pem: bytes,
        *,
        alg: Algorithm = "RS384",
        kid: str | None = None,
        scope: str = "system/*.read system/*.write",
        skew_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._key = private_key_pem
        self.alg: Algorithm = alg
        self.kid = kid
        self.scope = scope
        self._skew = skew_s
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.token_requests = 0

    def assertion(self) -> str:
        """A fresh signed client assertion."""
        now = int(self._clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "exp": now + 300,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        return sign_jwt(claims, self._key, self.alg, self.kid)

    def _cached(self) -> str | None:
        with self._lock:
            if self._token and self._clock() < self._expires_at - self._skew:
                return self._token
            return None

    def _token_request(self) -> httpx.Request:
        form = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        return httpx.Request(
            "POST", self.token_url, data=form, headers={"Accept": "application/json"}
        )

    def _accept(self, response: httpx.Response) -> str:
        if response.status_code >= 400:
            raise StoreError(
                f"SMART token endpoint refused the client assertion: HTTP {response.status_code}",
                code="NLP522",
            )
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(
                "SMART token endpoint answered without a token", code="NLP523"
            ) from exc
        with self._lock:
            self._token, self._expires_at = token, self._clock() + lifetime
            self.token_requests += 1
        return token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Fetch (or reuse) the token, send the request, refresh once on 401."""
        token = self._cached()
        if token is None:
            token = self._accept((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            with self._lock:
                self._token = None
            token = self._accept((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


def discover_token_url(client: httpx.Client, base_url: str) -> str:
    """The ``token_endpoint`` of ``{base}/.well-known/smart-configuration``.

    Raises:
        StoreError: ``NLP524`` when the server publishes no SMART configuration.
    """
    url = base_url.rstrip("/") + "/.well-known/smart-configuration"
    response = client.get(url, headers={"Accept": "application/json"})
    try:
        endpoint = response.json()["token_endpoint"] if response.status_code == 200 else None
    except (ValueError, KeyError, TypeError):
        endpoint = None
    if not isinstance(endpoint, str):
        raise StoreError("no SMART configuration (token_endpoint) on the server", code="NLP524")
    return endpoint
