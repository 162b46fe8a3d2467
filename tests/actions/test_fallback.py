"""Fallback that helps: ask back with candidates, then a librarian; never guess."""

from __future__ import annotations

import json

from actions.base import ActionContext
from actions.engine import HandoffRequest
from tests.actions.conftest import Conversation


async def test_clear_faq_question_is_answered(ctx: ActionContext) -> None:
    turn = await Conversation(ctx).say("min perpus buka jam brp?", "faq")
    assert "08.00" in turn.text
    assert turn.slots["topic"] == "faq" and turn.slots["last_faq"] == "jam-buka"
    assert turn.slots["failed_turns"] == 0.0


async def test_unclear_question_asks_back_with_two_or_three_candidates(ctx: ActionContext) -> None:
    turn = await Conversation(ctx).say("kartu", "nlu_fallback", confidence=0.3)
    assert turn.text == "Maksud Kakak yang mana?"
    assert 2 <= len(turn.buttons) <= 3
    for b in turn.buttons:
        assert b["payload"].startswith("/faq{")
        faq_id = json.loads(b["payload"][4:])["faq_id"]
        assert faq_id in {i.id for i in ctx.kb.faq_store.entries()}
    assert turn.slots["failed_turns"] == 1.0


async def test_a_button_answers_that_entry(ctx: ActionContext) -> None:
    convo = Conversation(ctx)
    turn = await convo.say("/faq", "faq", {"faq_id": "biaya-anggota"})
    assert turn.text.startswith("Gratis, Kak!")


async def test_second_failure_hands_over_to_a_librarian(ctx: ActionContext) -> None:
    convo = Conversation(ctx)
    first = await convo.say("qwerty zxcv", "nlu_fallback", confidence=0.2)
    assert "belum paham" in first.text and not first.buttons
    assert first.handoff is None
    second = await convo.say("asdf lkj", "nlu_fallback", confidence=0.2)
    assert "pustakawan" in second.text and "batal" in second.text
    assert [b["title"] for b in second.buttons] == ["Kembali ke bot"]
    assert second.handoff == HandoffRequest(reason="not_understood", language="id")
    assert second.slots["failed_turns"] == 0.0
    # Understanding in between resets the counter: no handoff on a later single failure.
    convo = Conversation(ctx)
    await convo.say("qwerty zxcv", "nlu_fallback", confidence=0.2)
    ok = await convo.say("ada wifi gratis ga?", "faq")
    assert ok.slots["failed_turns"] == 0.0
    again = await convo.say("asdf lkj", "nlu_fallback", confidence=0.2)
    assert again.handoff is None


async def test_out_of_scope_gets_what_the_bot_can_do(ctx: ActionContext) -> None:
    for text in ("cuaca besok?", "jual pulsa?", "harga cabe hari ini berapa"):
        turn = await Conversation(ctx).say(text, "out_of_scope")
        assert "di luar yang bisa saya bantu" in turn.text, text
        assert "jam buka" in turn.text


async def test_below_threshold_never_answers(ctx: ActionContext) -> None:
    # Shares words with FAQ entries ("perpustakaan", "buku") but no entry answers it.
    answers = {i.answer for i in ctx.kb.faq_store.entries()}
    for text in ("ada kantin di perpustakaan?", "berapa gaji pustakawan", "harga tiket masuk museum"):
        hits = ctx.kb.search_faq(text)
        assert hits[0].score < ctx.kb.thresholds.answer, (text, hits[0])
        turn = await Conversation(ctx).say(text, "nlu_fallback", confidence=0.3)
        assert turn.text not in answers


async def test_unsure_nlu_offers_the_plausible_intents(ctx: ActionContext) -> None:
    convo = Conversation(ctx)
    tracker_ranking = [
        {"name": "search_book", "confidence": 0.35}, {"name": "ask_ebooks", "confidence": 0.3},
        {"name": "greet", "confidence": 0.2},
    ]
    turn = await convo.say("qwerty zxcv", "nlu_fallback", confidence=0.35, ranking=tracker_ranking)
    assert turn.text == "Maksud Kakak yang mana?"
    assert [b["payload"] for b in turn.buttons] == ["/search_book", "/ask_ebooks"]


async def test_english_patron_gets_english(ctx: ActionContext) -> None:
    convo = Conversation(ctx, language="en")
    turn = await convo.say("is there free wifi?", "faq")
    assert turn.text.startswith("Yes, there is free Wi-Fi")
    turn = await convo.say("what's the weather tomorrow?", "out_of_scope")
    assert "outside what I can help with" in turn.text
    ask = await Conversation(ctx, language="en").say("card", "nlu_fallback", confidence=0.3)
    assert ask.text in ("Which one do you mean?", "Sorry, I didn't quite get that. Could you rephrase? "
                        "I can help with books, opening hours, membership, loans, events and e-books.")
