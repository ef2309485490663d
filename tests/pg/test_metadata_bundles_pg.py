"""Capability, transaction and batch tests of ``tests/api``, on the PostgreSQL store."""

from tests.api import test_metadata_bundles
from tests.api.test_metadata_bundles import *  # noqa: F403

# builds its own SQLite file: nothing to learn about PostgreSQL there
del test_load_samples_is_idempotent  # noqa: F821
assert test_metadata_bundles.test_load_samples_is_idempotent
