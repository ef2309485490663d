"""Ray Data executor on a local Ray started by the test (2 CPUs, fractional actors)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.batch.checkpoint import Checkpoint
from api.batch.model import ENRICHED, WorkItem
from api.batch.runner import BatchRun, RunOptions
from api.batch.sinks import NdjsonSink
from api.batch.sources import NdjsonSource
from api.batch.storage import LocalStorage, open_storage
from tests.batch.conftest import NOW
from tests.batch.fake_engine import SPEC
from tests.batch.synth import document, documents, write_ndjson
from tests.conftest import ROOT

ray = pytest.importorskip("ray", reason="ray[data] is not installed (pip install 'ray[data]')")

# About 80 s on the shared 2-core machine (Ray start-up, one actor pool per window): opt-in.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


# Read tasks on the workers talk to the moto server with fake credentials (never real AWS).
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), **FAKE_AWS}},
    )  # fmt: skip
    try:
        yield
    finally:
        ray.shutdown()


def _lines(folder: Path) -> list[str]:
    return sorted(line for p in folder.rglob("*.ndjson") for line in p.read_text().splitlines())


def test_ray_actors_give_the_same_output_as_one_process(
    tmp_path: Path, local_ray: None, serial: Any, s3: Any, s3_endpoint: str
) -> None:
    from api.batch.ray_runner import RayExecutor

    src = write_ndjson(tmp_path / "in" / "DocumentReference-0.ndjson", documents(120))
    # NDJSON out on S3 (moto), read from a local export.
    s3.create_bucket(Bucket="ray-out")
    source = NdjsonSource(LocalStorage(src))
    executor = RayExecutor(
        None, (SPEC, {}, NOW), {}, actors=2, actor_cpus=0.5, batch_size=16, window=80
    )
    try:
        ck = Checkpoint(":memory:", source=source.key, engine="fake-keyword@1.0")
        sink = NdjsonSink(open_storage("s3://ray-out/run", endpoint_url=s3_endpoint))
        report = BatchRun(source, sink, ck, executor.identity(), RunOptions(part_size=40)).run(
            executor
        )
    finally:
        executor.close()
    assert report.outcomes == {ENRICHED: 120}
    ray_lines = sorted(
        line
        for obj in s3.list_objects_v2(Bucket="ray-out")["Contents"]
        for line in s3.get_object(Bucket="ray-out", Key=obj["Key"])["Body"]
        .read()
        .decode()
        .splitlines()
    )

    ck2 = Checkpoint(":memory:", source=source.key, engine="fake-keyword@1.0")
    out = tmp_path / "serial"
    BatchRun(source, NdjsonSink(LocalStorage(out)), ck2, serial.identity(), RunOptions()).run(
        serial
    )
    assert ray_lines == _lines(out)
    assert (
        len({json.loads(line)["id"] for line in ray_lines if '"DocumentReference"' in line[:40]})
        == 120
    )


def _never(doc_id: str, text_hash: str) -> bool:
    return False


def _none(url: str) -> None:
    return None


def test_ray_reads_and_plans_an_s3_export_on_the_cluster(
    tmp_path: Path, local_ray: None, s3: Any, s3_endpoint: str
) -> None:
    from api.batch.ray_runner import RayExecutor

    s3.create_bucket(Bucket="ray-export")
    for n in range(3):  # three export files: three read tasks
        docs = [document(i, prefix=f"f{n}") for i in range(30 * (n + 1))]
        body = "".join(json.dumps(d) + "\n" for d in docs)
        s3.put_object(Bucket="ray-export", Key=f"job/DocumentReference-{n}.ndjson", Body=body)
    source = NdjsonSource(open_storage("s3://ray-export/job/", endpoint_url=s3_endpoint))
    ck = Checkpoint(tmp_path / "ck.sqlite", source=source.key, engine="fake-keyword@1.0")
    first = ck.open_part()  # an earlier run finished doc-000000..009 of the first file
    from api.batch.work import DocProcessor, Selection, plan

    proc = DocProcessor(SPEC, {}, NOW)
    never_done = Selection()
    items = [
        plan(d, identity=proc.identity, selection=never_done, is_done=_never, fetch_binary=_none)
        for d in (document(i, prefix="f0") for i in range(10))
    ]
    earlier = [proc(item) for item in items if isinstance(item, WorkItem)]
    ck.commit_part(first, earlier)
    executor = RayExecutor(
        None, (SPEC, {}, NOW), {}, actors=2, actor_cpus=0.5, batch_size=16,
        s3_endpoint_url=s3_endpoint,
    )  # fmt: skip
    try:
        out = tmp_path / "out"
        options = RunOptions(part_size=50, distributed_read=True)
        run = BatchRun(source, NdjsonSink(LocalStorage(out)), ck, executor.identity(), options)
        report = run.run(executor)
    finally:
        executor.close()
    # 30 + 60 + 90 documents, 10 of them finished by the earlier run.
    assert report.outcomes == {ENRICHED: 170, "skipped-checkpoint": 10}
    written = _lines(out)
    assert sum('"resourceType":"DocumentReference"' in line for line in written) == 170
