"""Catalog, events and e-book questions in the patron's own words, end to end (issue 14, items 4-5).

Each held-out message goes, as the first message of a fresh conversation, through the running
stack (POST /api/chat -> Rasa NLU -> the answer engine -> knowledge on the demo data). Sets,
written blind from the demo data (never used in training):

* ``tests/data/heldout/catalog_forms.yml``: bare title, title + author, title in a sentence,
  topic, series and volume; right when the reply names the expected title;
* ``tests/data/heldout/events_forms.yml``: events by topic; right when the reply names the
  expected event (``null``: right when it names no event);
* ``tests/data/heldout/ebooks_forms.yml``: e-books by subject or title; right when the reply
  names the expected e-book (``null``: right when it names no e-book).

* ``*_forms2.yml`` (``--set 2``): second sets of the same forms, written blind from the demo data
  on 2026-12-02 by someone who saw no code and no other test data, before the engine work they
  measure was merged (never read by whoever tuned the engine).

* ``*_forms3.yml`` (``--set 3``): third sets, written blind the same way on 2026-12-02, before
  the forms work measured on them (whoever tuned that work never read them).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/knowledge_forms.py [--set 2|3] [--show-wrong]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.chat_load import API_HEADERS, start_bot, stop  # noqa: E402
from knowledge.text import fold  # noqa: E402

HELDOUT = ROOT / "tests" / "data" / "heldout"
DEMO = ROOT / "knowledge" / "demo"


def event_names() -> list[str]:
    names = []
    for line in (DEMO / "events.ics").read_text(encoding="utf-8").splitlines():
        if line.startswith("SUMMARY:"):
            names.append(line[len("SUMMARY:"):].replace("\\,", ",").strip())
    return names


def ebook_titles() -> list[str]:
    with (DEMO / "ebooks.csv").open(encoding="utf-8") as fh:
        return [row["title"] for row in csv.DictReader(fh) if row.get("title")]


def names_in(reply: str, names: list[str]) -> set[str]:
    flat = fold(reply)
    return {n for n in names if fold(n) and fold(n) in flat}


_MISSES = ("belum ada di koleksi", "not in our collection")


async def ask(session: aiohttp.ClientSession, gateway: str, text: str) -> str:
    body = {"sender_id": f"forms-{uuid.uuid4().hex[:12]}", "text": text}
    async with session.post(f"{gateway}/api/chat", json=body, headers=API_HEADERS) as response:
        response.raise_for_status()
        messages = (await response.json())["messages"]
    parts = []
    for m in messages:
        parts.append(m.get("text") or "")
        parts += [b.get("title", "") for b in m.get("buttons") or []]
    return "\n".join(parts)


async def run(gateway: str, concurrency: int, show_wrong: bool, suffix: str = "") -> None:
    events, ebooks = event_names(), ebook_titles()
    cases: list[tuple[str, str, str | None, list[str] | None]] = []  # (form, question, expected, names)
    for row in yaml.safe_load((HELDOUT / f"catalog_forms{suffix}.yml").read_text(encoding="utf-8")):
        cases.append((f"catalog: {row['form']}", row["q"], row["expect_title"], None))
    for row in yaml.safe_load((HELDOUT / f"events_forms{suffix}.yml").read_text(encoding="utf-8")):
        form = "events: by topic" if row["expect_summary"] else "events: topic with no event"
        cases.append((form, row["q"], row["expect_summary"], events))
    for row in yaml.safe_load((HELDOUT / f"ebooks_forms{suffix}.yml").read_text(encoding="utf-8")):
        form = "e-books: subject/title" if row["expect_title"] else "e-books: subject with none"
        cases.append((form, row["q"], row["expect_title"], ebooks))
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def one(form: str, question: str, expected: str | None, names: list[str] | None) -> None:
            async with limit:
                reply = await ask(session, gateway, question)
            if expected is not None:
                # Named as found: a "belum ada di koleksi" reply echoing the title is a miss.
                ok = fold(expected) in fold(reply) and not any(m in fold(reply) for m in _MISSES)
            else:
                ok = not names_in(reply, names or [])
            total[form] += 1
            right[form] += ok
            if show_wrong and not ok:
                print(f"  wrong: {form}: {question!r} (expected {expected!r}) -> {' / '.join(reply.split())[:260]}",
                      file=sys.stderr, flush=True)

        await asyncio.gather(*(one(*c) for c in cases))
    print("| form | messages | right |")
    print("| --- | --- | --- |")
    for form in dict.fromkeys(c[0] for c in cases):
        print(f"| {form} | {total[form]} | {right[form] / max(total[form], 1):.3f} |")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", help="a running gateway's URL (default: start one)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--show-wrong", action="store_true", help="print each miss with the start of its reply")
    parser.add_argument("--set", default="1", choices=("1", "2", "3"),
                        help="1: the first sets (*_forms.yml); 2, 3: the later blind sets (*_forms2.yml, *_forms3.yml)")
    args = parser.parse_args()
    proc = None
    gateway = args.gateway
    if gateway is None:
        proc, gateway = start_bot()
    try:
        await run(gateway, args.concurrency, args.show_wrong, "" if args.set == "1" else args.set)
    finally:
        stop(proc)


if __name__ == "__main__":
    asyncio.run(main())
