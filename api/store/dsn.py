"""Where the service database is: a SQLite path or a PostgreSQL URL (and how to log one)."""

from __future__ import annotations

import re


def is_postgres_url(db_path: str) -> bool:
    """Whether ``db_path`` (``DOCREF_NLP_DB_PATH``) names a PostgreSQL database.

    >>> is_postgres_url("postgresql://docref@db/docref"), is_postgres_url("/var/lib/x.sqlite")
    (True, False)
    """
    return db_path.startswith(("postgresql://", "postgres://"))


def redact_url(db_path: str) -> str:
    """``db_path`` without a URL's password (for logs and errors).

    >>> redact_url("postgresql://u:secret@h:5432/db"), redact_url("/var/lib/x.sqlite")
    ('postgresql://u:***@h:5432/db', '/var/lib/x.sqlite')
    """
    return re.sub(r"^(\w+://[^:/@]+):[^@]*@", r"\1:***@", db_path)
