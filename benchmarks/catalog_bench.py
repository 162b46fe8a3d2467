"""Catalog benchmark: import 100,000 MARC records and measure search latency (SQLite, PostgreSQL).

The records are the 2,716 real Library of Congress Indonesian records (``../shared/data/marc``)
multiplied with varied titles (``jilid N``) and 1-4 Koha 952 holdings each with mixed statuses.

    .venv/bin/python benchmarks/catalog_bench.py                 # 100k, SQLite and PostgreSQL
    .venv/bin/python benchmarks/catalog_bench.py --records 20000 --no-postgres

Targets: import >= 2,000 records/s without embeddings; search p95 <= 50 ms at 100k records.
Also timed: the engine's per-message title mentions and topic search on the same questions.
Import runs in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LC = ROOT / ".." / "shared" / "data" / "marc" / "lc-indonesian-2716.mrc"
STATUSES = ["available"] * 6 + ["on_loan", "on_loan", "reference", "lost"]


def build_file(path: Path, count: int, seed: int = 7) -> None:
    """Write ``count`` MARC records derived from the LC records to ``path``."""
    import pymarc

    rng = random.Random(seed)
    with LC.open("rb") as stream:
        base = [r for r in pymarc.MARCReader(stream, to_unicode=True) if r is not None]
    with path.open("wb") as out:
        for i in range(count):
            record = base[i % len(base)]
            copy_no = i // len(base)
            clone = pymarc.Record(force_utf8=True, leader=str(record.leader))
            for f in record.fields:
                if f.tag == "001":
                    clone.add_field(pymarc.Field(tag="001", data=f"{f.data.strip()}-{copy_no}"))
                elif f.tag == "245" and copy_no:
                    subfields = list(f.subfields)
                    subfields[0] = pymarc.Subfield(subfields[0].code, f"{subfields[0].value.rstrip(' /:')} jilid {copy_no}")
                    clone.add_field(pymarc.Field(tag="245", indicators=f.indicators, subfields=subfields))
                elif f.tag not in ("952", "852"):
                    clone.add_field(f)
            for c in range(rng.randint(1, 4)):
                status = rng.choice(STATUSES)
                sub = [
                    pymarc.Subfield("a", "PUSAT"), pymarc.Subfield("c", rng.choice(["Rak Umum Lantai 1", "Rak Fiksi Lantai 2", "Referensi"])),
                    pymarc.Subfield("o", "899.221 3"), pymarc.Subfield("p", f"B{i:06d}{c}"),
                ]
                if status == "on_loan":
                    sub.append(pymarc.Subfield("q", f"2026-12-{rng.randint(1, 28):02d}"))
                elif status == "reference":
                    sub.append(pymarc.Subfield("7", "1"))
                elif status == "lost":
                    sub.append(pymarc.Subfield("1", "1"))
                clone.add_field(pymarc.Field(tag="952", indicators=pymarc.Indicators(" ", " "), subfields=sub))
            out.write(clone.as_marc())


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + rng.choice("aiueoknrst") + word[i + 1 :]


def queries(count: int, seed: int = 11) -> list[str]:
    """Patron-like questions from the LC titles, authors and subjects (some with typos)."""
    import pymarc

    rng = random.Random(seed)
    with LC.open("rb") as stream:
        base = [r for r in pymarc.MARCReader(stream, to_unicode=True) if r is not None]
    out: list[str] = []
    while len(out) < count:
        r = rng.choice(base)
        kind = rng.random()
        title = (r.title or "").split(":")[0].split("/")[0].strip()
        if kind < 0.4 and title:
            out.append(" ".join(title.lower().split()[:4]))
        elif kind < 0.6 and title:
            words = title.lower().split()[:3]
            out.append(" ".join(_typo(w, rng) for w in words))
        elif kind < 0.75 and r.get_fields("100"):
            out.append("buku karya " + r.get_fields("100")[0].get_subfields("a")[0].strip(" ,."))
        elif kind < 0.9 and r.get_fields("650"):
            out.append("buku tentang " + r.get_fields("650")[0].get_subfields("a")[0].strip(" ,.").lower())
        else:
            out.append(rng.choice(["harry potter dan batu bertuah", "the hunger games", "laskar pelangi"]))
    return out


def run_import(url: str, path: Path) -> dict[str, float]:
    """Import ``path`` into ``url`` (this process): records/s and peak RSS."""
    from knowledge.db import make_engine, make_sessionmaker, upgrade
    from knowledge.sources.sync import import_file

    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    start, cpu = time.perf_counter(), time.process_time()
    report = import_file(sessions, path)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    again = import_file(sessions, path)
    reimport = time.perf_counter() - start
    return {
        "added": report.added,
        "skipped": len(report.skipped),
        "seconds": round(seconds, 1),
        "records_per_s": round(report.added / seconds),
        "client_cpu_s": round(cpu, 1),
        "load_avg": round(os.getloadavg()[0], 1),
        "reimport_unchanged": again.unchanged,
        "reimport_seconds": round(reimport, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def run_search(url: str, count: int) -> dict[str, float]:
    """Latency of ``count`` patron questions on a warm index."""
    from knowledge.catalog import CatalogQuery, CatalogSearch
    from knowledge.db import make_engine, make_sessionmaker

    sessions = make_sessionmaker(make_engine(url))
    search = CatalogSearch(sessions, check_interval=3600)
    start = time.perf_counter()
    search.search(CatalogQuery(text="pengetahuan"))  # builds the vocabulary
    warmup = time.perf_counter() - start
    timings, found = [], 0
    for q in queries(count):
        t = time.perf_counter()
        hits = search.search(CatalogQuery(text=q, limit=5))
        timings.append((time.perf_counter() - t) * 1000)
        found += bool(hits)
    timings.sort()
    # The answer engine also asks, for every message, which titles are written in it and (for a
    # book question) what the message's topic finds: the same questions, as patrons' sentences.
    extra: dict[str, list[float]] = {"mentions": [], "topic": []}
    for q in queries(count):
        sentence = f"min ada buku {q} gak ya?"
        for name, call in (("mentions", search.mentions), ("topic", search.topic)):
            t = time.perf_counter()
            call(sentence)
            extra[name].append((time.perf_counter() - t) * 1000)
    figures: dict[str, float] = {
        "queries": count,
        "found": found,
        "warmup_s": round(warmup, 2),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
        "max_ms": round(timings[-1], 1),
    }
    for name, values in extra.items():
        values.sort()
        figures[f"{name}_p50_ms"] = round(statistics.median(values), 1)
        figures[f"{name}_p95_ms"] = round(values[int(len(values) * 0.95) - 1], 1)
    return figures


def _child(mode: str, url: str, arg: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, url, arg], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Build the file, then import and search on each database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, url, arg = args.child
        result = run_import(url, Path(arg)) if mode == "import" else run_search(url, int(arg))
        print(json.dumps(result))
        return
    work = Path(tempfile.mkdtemp(prefix="pb-bench-"))
    path = work / f"catalog-{args.records}.mrc"
    t = time.perf_counter()
    build_file(path, args.records)
    print(f"built {args.records} records ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f}s")
    targets: list[tuple[str, str, str | None]] = [("sqlite", f"sqlite:///{work / 'kb.db'}", None)]
    if not args.no_postgres:
        name = f"pb_bench_{uuid.uuid4().hex[:8]}"
        targets.append(("postgresql", f"postgresql://postgres@127.0.0.1:5432/{name}", name))
    for label, url, pg_name in targets:
        if pg_name:
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", f'CREATE DATABASE "{pg_name}"'], check=True, capture_output=True)
        try:
            imported = _child("import", url, str(path))
            print(f"{label} import: {json.dumps(imported)}")
            searched = _child("search", url, str(args.queries))
            print(f"{label} search: {json.dumps(searched)}")
        finally:
            if pg_name:
                subprocess.run(
                    ["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'],
                    check=False, capture_output=True,
                )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
