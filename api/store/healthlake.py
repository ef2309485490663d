"""HealthLake as upstream: SigV4Auth (httpx.Auth via botocore) and healthlake_store()."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx

from api.store.http import HttpFhirStore, RetryPolicy

SERVICE = "healthlake"
# Only these request headers are signed; the rest (user-agent, accept-encoding, connection...)
# may legitimately be changed by proxies and are not covered by the signature.
_SIGNED = ("host", "content-type", "content-md5")


class SigV4Auth(httpx.Auth):
    """Signs each request with AWS Signature Version 4 using botocore's own signer.

    The signature covers the exact method, URL (path and query), signed headers and body bytes
    that httpx sends, so it is computed after serialization (``requires_request_body``).

    Config (constructor arguments):
        credentials: A botocore ``Credentials`` (refreshable ones are frozen per request).
        region: AWS region, e.g. ``us-east-1``.
        service: Signing name (default ``healthlake``).
    """

    requires_request_body = True

    def __init__(self, credentials: Any, region: str, service: str = SERVICE) -> None:
        self._credentials = credentials
        self._region = region
        self._service = service

    def sign(self, request: httpx.Request) -> None:
        """Add ``Authorization``, ``X-Amz-Date`` (and ``X-Amz-Security-Token``) to ``request``."""
        from botocore.auth import SigV4Auth as BotoSigV4Auth
        from botocore.awsrequest import AWSRequest

        creds = self._credentials
        if hasattr(creds, "get_frozen_credentials"):
            creds = creds.get_frozen_credentials()
        headers = {k: v for k, v in request.headers.items() if k.lower() in _SIGNED}
        aws = AWSRequest(
            method=request.method, url=str(request.url), data=request.content, headers=headers
        )
        BotoSigV4Auth(creds, self._service, self._region).add_auth(aws)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in aws.headers:
                request.headers[name] = aws.headers[name]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign, then send (each retry goes through here again, so it is re-signed)."""
        self.sign(request)
        yield request


def healthlake_base_url(datastore_id: str, region: str) -> str:
    """The FHIR R4 base of a HealthLake data store.

    >>> healthlake_base_url("abc123", "us-east-1")
    'https://healthlake.us-east-1.amazonaws.com/datastore/abc123/r4/'
    """
    return f"https://healthlake.{region}.amazonaws.com/datastore/{datastore_id}/r4/"


def healthlake_store(
    datastore_id: str,
    region: str,
    credentials: Any = None,
    *,
    client: httpx.Client | None = None,
    retry: RetryPolicy | None = None,
) -> HttpFhirStore:
    """An ``HttpFhirStore`` for a HealthLake data store, signed with SigV4.

    Args:
        datastore_id: The HealthLake data store id.
        region: Its AWS region.
        credentials: botocore credentials; default: the boto3 default chain.
        client: The httpx client (default: a new one with a 30 s timeout).
        retry: Retry policy (default ``RetryPolicy()``).
    """
    if credentials is None:
        import boto3

        credentials = boto3.Session().get_credentials()
    auth = SigV4Auth(credentials, region)
    return HttpFhirStore(
        healthlake_base_url(datastore_id, region),
        client or httpx.Client(timeout=30.0),
        auth,
        retry=retry,
        transaction_mode="transaction",
    )
