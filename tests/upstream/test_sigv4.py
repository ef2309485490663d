"""The SigV4 signature our HealthLake adapter sends equals botocore's own for the same request."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from botocore.auth import SigV4Auth as BotoSigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from api.store.healthlake import SigV4Auth, healthlake_store
from api.store.http import RetryPolicy

FIXED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-1")


@pytest.fixture
def fixed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: FIXED)


def botocore_reference(method: str, url: str, body: bytes, content_type: str | None) -> AWSRequest:
    headers = {"host": httpx.URL(url).netloc.decode()}
    if content_type:
        headers["Content-Type"] = content_type
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    BotoSigV4Auth(CREDS, "healthlake", "us-east-1").add_auth(req)
    return req


def test_transaction_post_signature_equals_botocore(fixed_time: None) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(
            200, json={"resourceType": "Bundle", "type": "transaction-response", "entry": [{}]}
        )

    client = httpx.Client(transport=httpx.MockTransport(handler))
    store = healthlake_store(
        "0123abcd", "us-east-1", CREDS, client=client, retry=RetryPolicy(attempts=1)
    )
    doc = {"resourceType": "DocumentReference", "id": "d1", "description": "café ✓"}
    store.save_all([doc])

    (request,) = sent
    assert str(request.url) == "https://healthlake.us-east-1.amazonaws.com/datastore/0123abcd/r4/"
    assert json.loads(request.content)["entry"][0]["resource"] == doc
    expected = botocore_reference(
        "POST", str(request.url), request.content, "application/fhir+json"
    )
    assert request.headers["X-Amz-Date"] == "20260102T030405Z"
    assert request.headers["X-Amz-Security-Token"] == "session-token-1"
    assert request.headers["Authorization"] == expected.headers["Authorization"]
    assert (
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"
        in request.headers["Authorization"]
    )
    assert "/20260102/us-east-1/healthlake/aws4_request" in request.headers["Authorization"]


def test_search_get_with_query_signature_equals_botocore(fixed_time: None) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset"})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    store = healthlake_store("ds1", "us-east-1", CREDS, client=client)
    store.search("DocumentReference", [("subject", "Patient/p 1"), ("_count", "50")])
    (request,) = sent
    expected = botocore_reference("GET", str(request.url), b"", None)
    assert request.headers["Authorization"] == expected.headers["Authorization"]


def test_signature_changes_with_the_body(fixed_time: None) -> None:
    auth = SigV4Auth(CREDS, "us-east-1")
    a = httpx.Request(
        "POST", "https://healthlake.us-east-1.amazonaws.com/datastore/x/r4/", content=b"{}"
    )
    b = httpx.Request(
        "POST", "https://healthlake.us-east-1.amazonaws.com/datastore/x/r4/", content=b"{ }"
    )
    auth.sign(a)
    auth.sign(b)
    assert a.headers["Authorization"] != b.headers["Authorization"]
