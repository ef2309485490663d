"""The stores (SQLite, PostgreSQL, HealthLake) and what they index."""

# first: the compiled search values (``GROUPS`` in nlp/local/native.py), or their sources
# when stale; the store imports ``enrich`` (``IndexRow``) anyway
from enrich.native import guard

MODE: str = guard().choose_group("api.store")
