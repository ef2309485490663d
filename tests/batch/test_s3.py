"""NDJSON on S3 (moto in server mode on loopback): bulk export in, import-ready NDJSON out."""

from __future__ import annotations

import gzip
import json
from typing import Any

from api.batch.checkpoint import Checkpoint
from api.batch.model import ENRICHED
from api.batch.pool import SerialExecutor
from api.batch.runner import BatchRun, RunOptions
from api.batch.sinks import NdjsonSink
from api.batch.sources import NdjsonSource
from api.batch.storage import open_storage
from enrich.fhir import validate_resource
from tests.batch.synth import documents


def _put_ndjson(
    s3: Any, bucket: str, key: str, docs: list[dict[str, Any]], *, gz: bool = False
) -> None:
    body = "".join(json.dumps(d) + "\n" for d in docs).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(body) if gz else body)


def test_s3_export_to_s3_import_folder(s3: Any, s3_endpoint: str, serial: SerialExecutor) -> None:
    s3.create_bucket(Bucket="exports")
    s3.create_bucket(Bucket="imports")
    docs = list(documents(30))
    # HealthLake export layout: <job>/<Type>/<Type>-N.ndjson; one file gzipped as $export may do.
    _put_ndjson(s3, "exports", "job-1/DocumentReference/DocumentReference-0.ndjson", docs[:20])
    _put_ndjson(
        s3, "exports", "job-1/DocumentReference/DocumentReference-1.ndjson.gz", docs[20:], gz=True
    )
    _put_ndjson(
        s3, "exports", "job-1/Patient/Patient-0.ndjson", [{"resourceType": "Patient", "id": "p"}]
    )

    source = NdjsonSource(open_storage("s3://exports/job-1/", endpoint_url=s3_endpoint))
    sink = NdjsonSink(open_storage("s3://imports/run-1", endpoint_url=s3_endpoint))
    ck = Checkpoint(":memory:", source=source.key, engine="fake-keyword@1.0")
    report = BatchRun(source, sink, ck, serial.identity(), RunOptions(part_size=12)).run(serial)
    assert report.outcomes == {ENRICHED: 30}
    assert source.total() is None  # unknown on S3 until read

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="imports", Prefix="run-1/")["Contents"]]
    assert "run-1/import/DocumentReference/part-000000.ndjson" in keys
    assert all(k.startswith(("run-1/import/", "run-1/deletions/")) for k in keys)
    seen: dict[str, int] = {}
    for key in keys:
        body = s3.get_object(Bucket="imports", Key=key)["Body"].read().decode()
        assert body.endswith("\n")
        for line in body.splitlines():
            resource = json.loads(line)
            validate_resource(resource)  # fhir.resources.R4B, line by line
            ref = f"{resource['resourceType']}/{resource['id']}"
            seen[ref] = seen.get(ref, 0) + 1
    assert sum(1 for ref in seen if ref.startswith("DocumentReference/")) == 30
    assert max(seen.values()) == 1  # no duplicates
    assert report.written["DocumentReference"] == 30


def test_s3_single_object_source(s3: Any, s3_endpoint: str) -> None:
    s3.create_bucket(Bucket="single")
    _put_ndjson(s3, "single", "a/docs.ndjson", list(documents(3)))
    storage = open_storage("s3://single/a/docs.ndjson", endpoint_url=s3_endpoint)
    assert storage.list() == ["docs.ndjson"]
    assert storage.url == "s3://single/a/docs.ndjson"  # reopened by Ray read tasks
    assert [d["id"] for d in NdjsonSource(storage)] == ["doc-000000", "doc-000001", "doc-000002"]
