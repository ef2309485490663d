"""The FhirStore contract of ``tests/contract``, on PostgreSQL: directly and served over HTTP."""

from collections.abc import Iterator

import pytest

from api.app import create_app
from api.store import postgres as pg
from api.store.base import FhirStore
from tests.api.conftest import make_settings
from tests.api.live import serve
from tests.contract.test_fhir_store_contract import *  # noqa: F403
from tests.contract.test_fhir_store_contract import _http_store
from tests.fakes import FakeEngine


@pytest.fixture(params=["postgres", "http-docref-nlp-postgres"])
def store(request: pytest.FixtureRequest, pg_url: str) -> Iterator[FhirStore]:
    if request.param == "postgres":
        db = pg.Database(pg_url)
        yield pg.PgFhirStore(db)
        db.close()
    else:
        settings = make_settings(db_path=pg_url)
        with serve(create_app(settings, engine=FakeEngine())) as url:
            yield _http_store(url)
