"""Where NDJSON lives: a local folder or an ``s3://bucket/prefix`` (boto3, optional endpoint URL).

Writes are atomic per object: a local file is written to a temporary name and renamed into
place, an S3 object is one ``PutObject`` (S3 never shows a partial object), so a killed run
leaves no half line behind.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol


class StorageError(Exception):
    """A location cannot be read or written (``[NLP6xx]`` codes)."""


class Storage(Protocol):
    """A folder of files, local or on S3. Paths are relative, ``/``-separated."""

    url: str

    def list(self) -> list[str]: ...

    def read_lines(self, relpath: str) -> Iterator[bytes]: ...

    def write(self, relpath: str, data: bytes) -> None: ...

    def delete(self, relpath: str) -> None: ...

    def delete_partials(self) -> int: ...


def is_s3(url: str) -> bool:
    return url.startswith("s3://")


def split_s3(url: str) -> tuple[str, str]:
    """Bucket and key prefix of an ``s3://`` URL.

    >>> split_s3("s3://bucket/exports/job-1/")
    ('bucket', 'exports/job-1/')
    >>> split_s3("s3://bucket")
    ('bucket', '')
    """
    if not is_s3(url):
        raise StorageError(f"[NLP624] not an s3:// URL: {url}")
    rest = url[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise StorageError(f"[NLP624] no bucket in {url}")
    return bucket, prefix


def make_s3_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 S3 client (path-style addressing when an endpoint URL is given, e.g. moto/MinIO)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        s3={"addressing_style": "path"} if endpoint_url else {},
    )
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def open_storage(
    url: str, *, endpoint_url: str | None = None, region: str | None = None
) -> Storage:
    """A :class:`Storage` for a local folder (or single file) or an ``s3://`` prefix."""
    if is_s3(url):
        bucket, prefix = split_s3(url)
        return S3Storage(make_s3_client(endpoint_url, region), bucket, prefix)
    return LocalStorage(Path(url))


class LocalStorage:
    """A local folder; a path to one file is a folder of that single file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)

    def list(self) -> list[str]:
        if self.root.is_file():
            return [self.root.name]
        if not self.root.exists():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    def _path(self, relpath: str) -> Path:
        return self.root if self.root.is_file() else self.root / relpath

    def read_lines(self, relpath: str) -> Iterator[bytes]:
        path = self._path(relpath)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            yield from f

    def write(self, relpath: str, data: bytes) -> None:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def delete(self, relpath: str) -> None:
        (self.root / relpath).unlink(missing_ok=True)

    def delete_partials(self) -> int:
        """Remove temporary files a killed writer left (never visible under their final name)."""
        if not self.root.is_dir():
            return 0
        partials = list(self.root.rglob(".*.tmp-*"))
        for path in partials:
            path.unlink(missing_ok=True)
        return len(partials)


class S3Storage:
    """Objects under ``s3://bucket/prefix``."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.url = f"s3://{bucket}/{self.prefix}"
        self._single = False
        if prefix and not prefix.endswith("/"):
            # s3://bucket/exports/file.ndjson names one object.
            try:
                client.head_object(Bucket=bucket, Key=prefix)
                self.prefix, self._single = prefix, True
                self.url = f"s3://{bucket}/{prefix}"
            except Exception:
                self._single = False

    def _key(self, relpath: str) -> str:
        return self.prefix if self._single else self.prefix + relpath

    def list(self) -> list[str]:
        if self._single:
            return [self.prefix.rsplit("/", 1)[-1]]
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                rel = str(obj["Key"])[len(self.prefix) :]
                if rel and not rel.endswith("/") and not rel.rsplit("/", 1)[-1].startswith("."):
                    keys.append(rel)
        return sorted(keys)

    def read_lines(self, relpath: str) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(relpath))["Body"]
        if relpath.endswith(".gz"):
            with gzip.GzipFile(fileobj=body) as f:
                yield from f
            return
        pending = b""
        for chunk in body.iter_chunks(chunk_size=1 << 20):
            pending += chunk
            lines = pending.split(b"\n")
            pending = lines.pop()
            yield from lines
        if pending:
            yield pending

    def write(self, relpath: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(relpath),
            Body=data,
            ContentType="application/fhir+ndjson",
        )

    def delete(self, relpath: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(relpath))

    def delete_partials(self) -> int:
        """Nothing to do: an S3 object appears whole or not at all."""
        return 0
