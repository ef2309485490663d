"""The intake queue tests of ``tests/webhook/test_intake.py``, on the PostgreSQL database handle."""

from collections.abc import Iterator

import pytest

from api.intake.queue import IntakeQueue
from api.store import postgres as pg
from tests.webhook import test_intake
from tests.webhook.test_intake import *  # noqa: F403
from tests.webhook.test_intake import Clock

# opens SQLite files and reads SQLite's PRAGMA: nothing to learn about PostgreSQL there
del test_enqueue_is_committed_to_the_file_and_fsynced  # noqa: F821
assert test_intake.test_enqueue_is_committed_to_the_file_and_fsynced


@pytest.fixture
def queue(clock: Clock, pg_url: str) -> Iterator[IntakeQueue]:
    db = pg.Database(pg_url)  # not ``Database``: the star import brings SQLite's
    yield IntakeQueue(db, max_attempts=3, backoff_base_s=10, clock=clock)
    db.close()
