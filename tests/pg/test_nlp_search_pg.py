"""The NLP search tests of ``tests/api/test_nlp_search.py``, on the PostgreSQL store."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.store.postgres import PgFhirStore
from tests.api.conftest import load_corpus, make_settings
from tests.api.nlp_data import RESULTS
from tests.api.test_nlp_search import *  # noqa: F403
from tests.fakes import FakeEngine, FixedClock


@pytest.fixture(scope="module")
def client(clock: FixedClock, pg_module_url: str) -> Iterator[TestClient]:
    """The five documents in a PostgreSQL-backed service, for the whole module."""
    app = create_app(make_settings(db_path=pg_module_url), engine=FakeEngine(RESULTS), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        assert isinstance(app.state.store, PgFhirStore)
        load_corpus(test_client)
        yield test_client
