"""The catalog benchmark's path at a small scale: correctness only, no timing asserts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import func, select, text

from knowledge.catalog import CatalogQuery, CatalogSearch, reindex
from knowledge.db import make_engine, make_sessionmaker
from knowledge.models import Record

ROOT = Path(__file__).resolve().parents[2]
RECORDS = 3_000  # the 2,716 LC records plus a first round of "jilid 1" variants


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("catalog_bench", ROOT / "benchmarks" / "catalog_bench.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("catalog_bench", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def marc_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bench = _bench()
    if not bench.LC.is_file():
        pytest.skip(f"real test data not found at {bench.LC.resolve()}")
    path = tmp_path_factory.mktemp("bench") / "catalog.mrc"
    bench.build_file(path, RECORDS)
    return path


def _check(url: str, path: Path) -> None:
    bench = _bench()
    imported = bench.run_import(url, path)
    assert imported["added"] + imported["skipped"] == RECORDS
    assert imported["added"] > RECORDS * 0.99
    assert imported["reimport_unchanged"] == imported["added"]  # a second import changes nothing
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        assert reindex(session) == 0  # the import wrote the search index itself
        indexed = session.scalar(text("SELECT count(*) FROM catalog_index"))
        assert indexed == session.scalar(select(func.count(Record.id))) == imported["added"]
        title = session.scalar(select(Record.title).where(Record.source_id.like("%-1")).limit(1))
    search = CatalogSearch(sessions)
    assert title in [h.title.split(":")[0] for h in search.search(CatalogQuery(text=title, limit=20))]
    assert search.search(CatalogQuery(text="harry potter dan batu bertuah")) == []
    latency = bench.run_search(url, 40)
    assert latency["queries"] == 40 and 0 < latency["found"] < 40  # the mix holds misses too
    engine.dispose()


def test_benchmark_path_on_sqlite(marc_file: Path, tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'bench.db'}", marc_file)


@pytest.mark.postgres
def test_benchmark_path_on_postgresql(marc_file: Path, pg_database: str) -> None:
    _check(pg_database, marc_file)
