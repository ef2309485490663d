"""Fixtures for the Comprehend Medical adapter tests: a real boto3 client behind a Stubber."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from nlp.comprehend import make_comprehend_client


@dataclass
class StubbedClient:
    """A stubbed client and the (operation, Text) of every call it received, in order."""

    client: Any
    stubber: Stubber
    calls: list[tuple[str, str]] = field(default_factory=list)

    def texts(self, operation: str) -> list[str]:
        return [text for op, text in self.calls if op == operation]


@pytest.fixture(scope="session")
def boto_session() -> Any:
    """One boto3 session (dummy credentials) for all tests: it caches the service models."""
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


@pytest.fixture
def stubbed(boto_session: Any) -> Iterator[StubbedClient]:
    client = make_comprehend_client("us-east-1", session=boto_session)
    stub = StubbedClient(client, Stubber(client))

    def record(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        stub.calls.append((model.name, params["Text"]))

    client.meta.events.register("provide-client-params.comprehendmedical.*", record)
    with stub.stubber:
        yield stub
