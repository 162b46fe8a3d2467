"""FAQ questions end to end: what a patron actually gets back through the whole stack.

`faq_retrieval.py` measures the retrieval alone. Here each held-out question goes, as the first
message of a fresh conversation, through the gateway (POST /api/chat) -> Rasa NLU -> the
answer engine -> knowledge base, so intent routing counts too: a FAQ question the NLU sends
to the catalog search is a miss. Each reply is sorted into

* answered right: the expected entry's answer (Indonesian or English) is in the reply;
* answered wrong: another entry's answer is;
* asked back, right one offered: no answer, but a button for the expected entry;
* other: anything else (a catalog or events reply, "rephrase", the out-of-scope message...).

Out-of-scope questions count as declined when no FAQ answer is in the reply. Starts
`pustakabot run` on free ports in a throw-away data folder unless --gateway points at one.

    .venv/bin/python benchmarks/faq_end_to_end.py [--heldout tests/data/heldout/faq_blind2.yml ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.chat_load import API_HEADERS, start_bot, stop  # noqa: E402
from benchmarks.faq_retrieval import FAQ_DIR, load_heldout  # noqa: E402
from knowledge.faq import FaqItem, FaqStore  # noqa: E402

OUTCOMES = ("answered right", "answered wrong", "asked back, right one offered", "other")
_FAQ_ID = re.compile(r'"faq_id"\s*:\s*"([a-z0-9-]+)"')


def _squash(text: str) -> str:
    return " ".join(text.split())


def answered_ids(reply: str, items: list[FaqItem]) -> set[str]:
    """The entries whose answer (either language) appears in ``reply``."""
    flat = _squash(reply)
    return {i.id for i in items for a in (i.answer, i.answer_en) if a and _squash(a) in flat}


def outcome(messages: list[dict], expected: str, items: list[FaqItem]) -> str:
    """Sort one turn's reply into :data:`OUTCOMES`."""
    reply = "\n".join(m.get("text") or "" for m in messages)
    got = answered_ids(reply, items)
    if expected in got:
        return OUTCOMES[0]
    if got:
        return OUTCOMES[1]
    offered = {m for msg in messages for b in msg.get("buttons") or [] for m in _FAQ_ID.findall(b.get("payload", ""))}
    return OUTCOMES[2] if expected in offered else OUTCOMES[3]


async def ask(session: aiohttp.ClientSession, gateway: str, text: str) -> list[dict]:
    body = {"sender_id": f"e2e-{uuid.uuid4().hex[:12]}", "text": text}
    async with session.post(f"{gateway}/api/chat", json=body, headers=API_HEADERS) as response:
        response.raise_for_status()
        return list((await response.json())["messages"])


async def run_set(gateway: str, path: Path, items: list[FaqItem], concurrency: int, show_other: bool = False) -> None:
    answerable, oos = load_heldout(path)
    counts: Counter[str] = Counter()
    declined = 0
    limit = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one_answerable(question: str, expected: str) -> None:
            async with limit:
                messages = await ask(session, gateway, question)
                result = outcome(messages, expected, items)
                counts[result] += 1
                if show_other and result == OUTCOMES[3]:
                    reply = _squash(" / ".join(m.get("text") or "" for m in messages))[:110]
                    print(f"  other: {expected}: {question!r} -> {reply}", file=sys.stderr, flush=True)

        async def one_oos(question: str) -> None:
            nonlocal declined
            async with limit:
                messages = await ask(session, gateway, question)
                declined += not answered_ids("\n".join(m.get("text") or "" for m in messages), items)

        await asyncio.gather(*(one_answerable(q, i) for q, i in answerable), *(one_oos(q) for q in oos))
    n = max(len(answerable), 1)
    cells = " | ".join(f"{counts[o] / n:.3f}" for o in OUTCOMES)
    print(f"| {path.name} ({len(answerable)} + {len(oos)}) | {cells} | {declined / max(len(oos), 1):.3f} |", flush=True)


async def run_oos(gateway: str, path: Path, items: list[FaqItem], concurrency: int) -> None:
    """Share of an out-of-scope test set that gets no FAQ answer (TSV: the last column of each
    line is the utterance; a header line ``intent<TAB>text`` is skipped)."""
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [r[-1].strip() for r in rows if r[-1].strip() and r != ["intent", "text"]]
    declined = 0
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def one(question: str) -> None:
            nonlocal declined
            async with limit:
                messages = await ask(session, gateway, question)
                declined += not answered_ids("\n".join(m.get("text") or "" for m in messages), items)

        await asyncio.gather(*(one(q) for q in questions))
    print(f"| {path.name} (0 + {len(questions)}) | – | – | – | – | {declined / max(len(questions), 1):.3f} |", flush=True)


# Intents whose own answer is a list or a search: a FAQ button there is an extra, and the
# noise of offering the FAQ after lists and misses is measured on them.
NOISE_INTENTS = ("search_book", "ask_events", "ask_ebooks", "suggest_purchase", "request_human")
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def nlu_examples(path: Path, intents: tuple[str, ...]) -> list[tuple[str, str]]:
    """(intent, text) of the Rasa NLU file's examples of ``intents``, entity markup removed."""
    import yaml

    out = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        if block.get("intent") in intents:
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    out.append((block["intent"], _ANNOTATION.sub(r"\1", line.strip()[2:].strip())))
    return out


async def intent_noise(gateway: str, path: Path, items: list[FaqItem], concurrency: int) -> None:
    """Per intent: how often the reply carries FAQ buttons, or is a FAQ answer."""
    examples = nlu_examples(path, NOISE_INTENTS)
    buttons: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    totals = Counter(intent for intent, _ in examples)
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def one(intent: str, text: str) -> None:
            async with limit:
                messages = await ask(session, gateway, text)
            payloads = [b.get("payload", "") for m in messages for b in m.get("buttons") or []]
            buttons[intent] += any(_FAQ_ID.search(p) for p in payloads)
            answers[intent] += bool(answered_ids("\n".join(m.get("text") or "" for m in messages), items))

        await asyncio.gather(*(one(i, t) for i, t in examples))
    print(f"\n{path.name}: replies to other intents' messages\n")
    print("| intent | messages | with FAQ buttons | answered from the FAQ |")
    print("| --- | --- | --- | --- |")
    for intent in NOISE_INTENTS:
        n = max(totals[intent], 1)
        print(f"| {intent} | {totals[intent]} | {buttons[intent] / n:.3f} | {answers[intent] / n:.3f} |", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", type=Path, action="append", default=[],
                        help="held-out set(s) (default: tests/data/heldout/faq_blind2.yml)")
    parser.add_argument("--gateway", help="a running gateway's URL (default: start one)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--intent-noise", type=Path, metavar="NLU_FILE",
                        help="also: how often catalog/events/e-book/suggestion/librarian messages of this "
                             "Rasa NLU file (e.g. tests/data/heldout/nlu.yml) get FAQ buttons or answers")
    parser.add_argument("--sparse", action="store_true",
                        help="serve the FAQ reduced to what a librarian writes: each entry's first question and its answer")
    parser.add_argument("--faq-dir", type=Path,
                        help="serve this FAQ folder instead of the shipped one (e.g. tests/data/librarian_faq)")
    parser.add_argument("--oos-tsv", type=Path, action="append", default=[],
                        help="out-of-scope test set (TSV, utterance in the last column), e.g. ../shared/data/xsid/id_test_oos.tsv")
    parser.add_argument("--show-other", action="store_true",
                        help="print each 'other' question with the start of its reply (development sets only)")
    args = parser.parse_args()
    items = FaqStore(args.faq_dir or FAQ_DIR).entries()
    proc = None
    gateway = args.gateway
    if gateway is None:
        if args.faq_dir:
            os.environ["PUSTAKABOT_FAQ_DIR"] = str(args.faq_dir.resolve())
        elif args.sparse:
            from knowledge.faq import write_sparse_faq

            sparse = Path(tempfile.mkdtemp(prefix="faq-sparse-"))
            write_sparse_faq(FAQ_DIR, sparse)
            os.environ["PUSTAKABOT_FAQ_DIR"] = str(sparse)
        proc, gateway = start_bot()
    try:
        print("| held-out set | " + " | ".join(OUTCOMES) + " | out-of-scope declined |")
        print("| --- " * (len(OUTCOMES) + 2) + "|")
        for path in args.heldout or [ROOT / "tests" / "data" / "heldout" / "faq_blind2.yml"]:
            await run_set(gateway, path, items, args.concurrency, args.show_other)
        for path in args.oos_tsv:
            await run_oos(gateway, path, items, args.concurrency)
        if args.intent_noise:
            await intent_noise(gateway, args.intent_noise, items, args.concurrency)
    finally:
        stop(proc)


if __name__ == "__main__":
    asyncio.run(main())
