"""The FHIR REST route tests of ``tests/api/test_fhir_routes.py``, on the PostgreSQL store."""

from tests.api.test_fhir_routes import *  # noqa: F403
