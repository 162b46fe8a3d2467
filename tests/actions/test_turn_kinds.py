"""The kind of each decision (answered / asked back / declined / handed over), the FAQ entry and
the searched title, as the engine reports them for the librarians' analytics; and the rules of
the bot's own questions (feedback comments, "hapus data saya")."""

from __future__ import annotations

import pytest

from actions.base import ActionContext
from actions.privacy import is_erase_request, is_yes
from tests.actions.conftest import Conversation


async def test_kinds_of_turns(ctx: ActionContext) -> None:
    chat = Conversation(ctx)
    faq = await chat.say("jam buka perpustakaan?", "faq")
    assert faq.decision.turn is not None
    assert (faq.decision.turn.kind, faq.decision.turn.faq_id) == ("answered", "jam-buka")
    found = await chat.say("ada buku laskar pelangi?", "search_book", {"title": "laskar pelangi"})
    assert found.decision.turn is not None and found.decision.turn.found is True
    assert found.decision.turn.searched is not None and "laskar pelangi" in found.decision.turn.searched.lower()
    missing = await chat.say("ada buku zyxwv qwerty?", "search_book", {"title": "zyxwv qwerty"})
    assert missing.decision.turn is not None
    assert (missing.decision.turn.kind, missing.decision.turn.found) == ("answered", False)
    oos = await chat.say("siapa presiden amerika?", "out_of_scope")
    assert oos.decision.turn is not None and oos.decision.turn.kind == "declined"
    first = await chat.say("blarg fnord", "nlu_fallback", confidence=0.2)
    assert first.decision.turn is not None and first.decision.turn.kind == "asked_back"
    second = await chat.say("fnord blarg", "nlu_fallback", confidence=0.2)
    assert second.decision.turn is not None and second.decision.turn.kind == "handed_over"


async def test_a_thumbs_down_asks_for_a_comment_and_the_next_question_still_gets_answered(ctx: ActionContext) -> None:
    chat = Conversation(ctx)
    down = await chat.tap('/feedback{"turn":"7","vote":"down"}')
    assert down.decision.turn is None  # the bot's own question is no analytics turn
    assert down.decision.feedback is not None and (down.decision.feedback.ref, down.decision.feedback.value) == (7, -1)
    assert chat.context.awaiting == "answer_comment"
    comment = await chat.say("jawabannya kurang lengkap", "nlu_fallback", confidence=0.3)
    assert comment.decision.feedback is not None and comment.decision.feedback.comment == "jawabannya kurang lengkap"
    assert chat.context.awaiting == ""
    await chat.tap('/feedback{"turn":"8","vote":"down"}')
    answered = await chat.say("jam buka perpustakaan?", "faq")  # the FAQ is sure: a question, not a comment
    assert "08.00" in answered.text and answered.decision.feedback is None and chat.context.awaiting == ""
    bad = await chat.tap('/feedback{"turn":"x","vote":"sideways"}')
    assert bad.decision.feedback is None and "tidak berlaku" in bad.text


async def test_erasure_needs_the_question_first(ctx: ActionContext) -> None:
    chat = Conversation(ctx)
    forged = await chat.tap('/erase_data{"confirm":"yes"}')
    assert not forged.decision.erase and "tidak dihapus" in forged.text
    ask = await chat.say("hapus data saya", "nlu_fallback", confidence=0.3)
    assert chat.context.awaiting == "erase_confirm" and [b["title"] for b in ask.buttons] == ["Ya, hapus data saya", "Tidak jadi"]
    done = await chat.say("iya", "affirm")
    assert done.decision.erase and "sudah kami hapus" in done.text


@pytest.mark.parametrize(("text", "expected"), [
    ("hapus data saya", True), ("tolong hapus semua data saya", True), ("hapus dataku", True),
    ("please delete my data", True), ("delete my chat history", True), ("Hapus riwayat chat saya dong", True),
    ("hapus data", True), ("cara hapus buku dari daftar pinjaman", False), ("apakah data saya aman?", False),
    ("data buku dihapus ya?", False), ("buku saya hilang", False),
])
def test_erase_requests(text: str, expected: bool) -> None:
    assert is_erase_request(text) is expected


def test_typed_confirmation() -> None:
    assert is_yes("Ya") and is_yes("iya hapus") and not is_yes("ya, jam buka kapan?")
