"""The landing zone: batches with manifests, never overwritten, failed attempts kept aside."""

import json
import os
import subprocess
import sys
import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import Extraction, Rejection
from connectors.landing import QUEUED_BATCHES, WRITERS, LandingError, LandingZone, _BatchWriter, schema_fingerprint

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])


def batches(sizes):
    start = 0
    for size in sizes:
        yield pa.record_batch([pa.array(range(start, start + size)), pa.array([f"名{i}" for i in range(size)])], SCHEMA)
        start += size


def test_each_batch_lands_with_a_manifest(tmp_path):
    zone = LandingZone(tmp_path)
    landing = zone.land_table("dept/sys", "people", "r1", Extraction(SCHEMA, batches([3, 2])))
    directory = tmp_path / "dept/sys/people/run=r1"
    assert landing.rows == 5
    assert landing.batches == 2
    manifest = json.loads((directory / "batch-00002.manifest.json").read_text())
    assert manifest["rows"] == 2
    assert manifest["schema_fingerprint"] == schema_fingerprint(SCHEMA)
    assert len(manifest["sha256"]) == 64
    assert pq.read_table(directory / "batch-00001.parquet").column("name").to_pylist() == [
        "名0",
        "名1",
        "名2",
    ]
    assert zone.verify_table("dept/sys", "people", "r1") == []


def test_landed_files_are_read_only_and_never_overwritten(tmp_path):
    zone = LandingZone(tmp_path)
    zone.land_table("dept/sys", "people", "r1", Extraction(SCHEMA, batches([1])))
    assert (tmp_path / "dept/sys/people/run=r1/batch-00001.parquet").stat().st_mode & 0o222 == 0
    with pytest.raises(LandingError, match="already landed"):
        zone.land_table("dept/sys", "people", "r1", Extraction(SCHEMA, batches([1])))


def test_a_failed_attempt_is_moved_aside_not_deleted(tmp_path):
    zone = LandingZone(tmp_path)

    def failing():
        yield from batches([2])
        raise ConnectionError("source went away")

    with pytest.raises(ConnectionError):
        zone.land_table("dept/sys", "people", "r1", Extraction(SCHEMA, failing()))
    landing = zone.land_table("dept/sys", "people", "r1", Extraction(SCHEMA, batches([4])))
    assert landing.rows == 4
    (failed,) = (tmp_path / "dept/sys/people/_failed").iterdir()
    assert (failed / "batch-00001.parquet").exists()


def test_tampering_is_detected(tmp_path):
    zone = LandingZone(tmp_path)
    zone.land_table("dept/sys", "people", "r1", Extraction(SCHEMA, batches([3])))
    parquet = tmp_path / "dept/sys/people/run=r1/batch-00001.parquet"
    parquet.chmod(0o644)
    pq.write_table(pa.Table.from_batches(list(batches([3]))).slice(0, 1), parquet)
    assert "sha256 differs" in zone.verify_table("dept/sys", "people", "r1")[0]


def test_a_batch_with_another_schema_is_refused(tmp_path):
    other = pa.record_batch([pa.array([1])], pa.schema([("id", pa.int64())]))
    with pytest.raises(LandingError, match="schema"):
        LandingZone(tmp_path).land_table("dept/sys", "people", "r1", Extraction(SCHEMA, iter([other])))


def test_an_empty_table_lands_its_schema(tmp_path):
    landing = LandingZone(tmp_path).land_table("dept/sys", "people", "r1", Extraction(SCHEMA, iter([])))
    assert landing.rows == 0
    assert pq.read_schema(tmp_path / "dept/sys/people/run=r1/batch-00000.parquet").names == ["id", "name"]


def test_the_latest_complete_run_is_the_last_completed(tmp_path):
    zone = LandingZone(tmp_path)
    assert zone.latest_run("dept/sys") is None
    for run_id in ("r2", "r1"):  # completion order, not name order, decides
        landing = zone.land_table("dept/sys", "people", run_id, Extraction(SCHEMA, batches([1])))
        zone.complete_run("dept/sys", run_id, "2025-01-01T00:00:00", [landing])
    assert zone.latest_run("dept/sys").run_id == "r1"
    assert [r.run_id for r in zone.runs("dept/sys")] == ["r2", "r1"]


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=40), max_size=6))
def test_rows_are_conserved_across_batches(tmp_path_factory, sizes):
    root = tmp_path_factory.mktemp("zone")
    landing = LandingZone(root).land_table("d/s", "t", "r", Extraction(SCHEMA, batches(sizes)))
    table = LandingZone(root).read("d/s", "t", "r")
    assert landing.rows == table.num_rows == sum(sizes)
    assert sorted(table.column("id").to_pylist()) == list(range(sum(sizes)))


def test_state_and_rejections_are_kept_with_the_run_and_the_latest_state_is_found(tmp_path):
    zone = LandingZone(tmp_path)
    assert zone.latest_state("d/s", "t") == {}
    for run_id, files in (("r1", ["a.csv"]), ("r2", ["a.csv", "b.csv"])):
        rejection = Rejection("d/s", "t", "b.csv", 7, "encoding", "neither UTF-8 nor GB18030")
        extraction = Extraction(SCHEMA, batches([1]), state={"files": files}, rejections=[rejection])
        zone.complete_run("d/s", run_id, "2025-01-01T00:00:00", [zone.land_table("d/s", "t", run_id, extraction)])
    assert zone.latest_state("d/s", "t") == {"files": ["a.csv", "b.csv"]}
    (kept,) = zone.latest_run("d/s").tables["t"].rejections
    assert str(Rejection(**kept)) == "d/s/t b.csv:7: encoding: neither UTF-8 nor GB18030"


KEY_SCHEMA = pa.schema([("id", pa.int64())])


def key_batch(ids):
    return pa.record_batch([pa.array(ids, pa.int64())], KEY_SCHEMA)


def test_the_key_diff_lands_deletes_under_a_folder_whose_name_holds_a_quote(tmp_path):
    zone = LandingZone(tmp_path / "the city's landing")
    first = zone.land_table("d/s", "t", "r1", Extraction(SCHEMA, batches([4])))  # keys 0 to 3
    zone.complete_run("d/s", "r1", "2025-12-31T00:00:00", [first])
    landing = zone.land_table("d/s", "t", "r2", Extraction(SCHEMA, iter([]), keys=iter([key_batch([0, 2])])))
    deleted = pq.read_table(tmp_path / "the city's landing/d/s/t/run=r2/deletes.parquet").column("id").to_pylist()
    assert (sorted(deleted), landing.deleted) == ([1, 3], 2)


def test_tombstones_land_as_deletes_once_each_in_key_order(tmp_path):
    zone = LandingZone(tmp_path)
    deletes = iter([key_batch([7, 3, 7]), key_batch([5])])
    landing = zone.land_table("d/s", "t", "r1", Extraction(SCHEMA, batches([2]), deletes=deletes))
    landed = pq.read_table(tmp_path / "d/s/t/run=r1/deletes.parquet")
    assert landed.schema.remove_metadata() == KEY_SCHEMA  # the primary-key columns only, as the key diff lands them
    assert landed.column("id").to_pylist() == [3, 5, 7]
    assert landing.deleted == 3
    assert landing.rows == 2


def test_a_run_without_tombstones_lands_an_empty_deletes_file(tmp_path):
    landing = LandingZone(tmp_path).land_table(
        "d/s", "t", "r1", Extraction(SCHEMA, iter([]), deletes=iter([key_batch([])]))
    )
    landed = pq.read_table(tmp_path / "d/s/t/run=r1/deletes.parquet")
    assert (landed.num_rows, landed.column_names, landing.deleted) == (0, ["id"], 0)


def test_tombstones_must_be_key_columns_of_the_table_and_come_one_way(tmp_path):
    zone = LandingZone(tmp_path)
    stranger = pa.record_batch([pa.array([1])], pa.schema([("other_id", pa.int64())]))
    with pytest.raises(LandingError, match="other_id"):
        zone.land_table("d/s", "t", "r1", Extraction(SCHEMA, batches([1]), deletes=iter([stranger])))
    with pytest.raises(LandingError, match="without even an empty batch"):
        zone.land_table("d/s", "t", "r2", Extraction(SCHEMA, batches([1]), deletes=iter([])))
    both = Extraction(SCHEMA, batches([1]), keys=iter([key_batch([1])]), deletes=iter([key_batch([2])]))
    with pytest.raises(LandingError, match="not both"):
        zone.land_table("d/s", "t", "r3", both)
    assert not (tmp_path / "d/s/t/run=r3").exists()  # refused before anything landed


def test_a_writer_s_failure_reaches_the_caller_and_stops_the_landing():
    written = []

    def write(number, batch):
        if number == 2:
            raise OSError("disk full")
        time.sleep(0.001)
        written.append(number)

    def land_a_thousand() -> None:
        with _BatchWriter(write) as writer:
            for number, batch in enumerate(batches([1] * 1000), start=1):
                writer.put(number, batch)

    with pytest.raises(OSError, match="disk full"):
        land_a_thousand()
    assert 2 not in written
    assert len(written) < 100  # only what other writers took before the failure was known


def test_writers_encode_batches_at_once():
    both_writing = threading.Barrier(WRITERS, timeout=5)  # broken, and raised to the caller, if they take turns
    written = []

    def write(number, batch):
        both_writing.wait()
        written.append(number)

    with _BatchWriter(write) as writer:
        for number, batch in enumerate(batches([1] * 2 * WRITERS), start=1):
            writer.put(number, batch)
    assert sorted(written) == list(range(1, 2 * WRITERS + 1))


def test_the_reader_runs_at_most_a_few_batches_ahead_of_the_writers():
    writing, release, put = threading.Semaphore(0), threading.Event(), []

    def write(number, batch):
        writing.release()
        release.wait()

    with _BatchWriter(write) as writer:

        def read_ahead():
            for number, batch in enumerate(batches([1] * 10), start=1):
                writer.put(number, batch)
                put.append(number)

        reader = threading.Thread(target=read_ahead)
        reader.start()
        for _ in range(WRITERS):
            assert writing.acquire(timeout=5)
        time.sleep(0.3)  # time enough to read all ten, were it not held back
        assert len(put) == WRITERS + QUEUED_BATCHES  # one in each writer's hands, the queue full
        release.set()
        reader.join()
    assert len(put) == 10


@pytest.mark.parametrize(("told", "expected"), [(None, "jemalloc"), ("system", "system")])
def test_connectors_allocate_arrow_memory_from_jemalloc_unless_told_otherwise(told, expected):
    """mimalloc, Arrow's default, faults fresh pages in for every batch; an operator's explicit choice wins."""
    environment = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if told:
        environment["ARROW_DEFAULT_MEMORY_POOL"] = told
    backend = subprocess.run(
        [sys.executable, "-c", "import connectors.base, pyarrow; print(pyarrow.default_memory_pool().backend_name)"],
        env=environment, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert backend == expected
