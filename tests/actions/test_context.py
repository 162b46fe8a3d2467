"""Context helpers; the multi-turn behaviour itself is told as stories in
tests/data/stories/context.yml (tests/test_stories.py)."""

from __future__ import annotations

from actions.base import ActionContext
from actions.catalog import complete_title, wants_available
from actions.rules import is_refinement
from tests.actions.conftest import Conversation


def test_refinement_phrases() -> None:
    assert is_refinement("yang karya Tere Liye")
    assert is_refinement("yg tersedia aja")
    assert is_refinement("kalau yang bumi manusia?")
    assert not is_refinement("ada buku bumi?")
    assert wants_available("yang tersedia saja")
    assert wants_available("only the available ones")
    assert not wants_available("yang karya tere liye")










async def test_follow_up_without_context_asks_back(ctx: ActionContext) -> None:
    turn = await Conversation(ctx).say("kalau sabtu?", "follow_up", {"period": "sabtu"})
    answers = {i.answer for i in ctx.kb.faq_store.entries()}
    # No topic yet: either the FAQ knows "sabtu" well enough, or the bot asks back.
    assert turn.text in answers or turn.text.startswith(("Maksud Kakak", "Maaf Kak"))


def test_a_title_tagged_in_part_is_completed_from_the_message() -> None:
    assert complete_title("lanjut", "ada buku kalkulus lanjut ga") == "kalkulus lanjut"
    assert complete_title("filosofi kopi", "buku filosofi kopi masih ada gak") == "filosofi kopi"
    assert complete_title("manusia", "buku bumi manusia ada?") == "bumi manusia"
    # filler and question words end the title; an author or subject cue leaves the tag alone
    assert complete_title("laskar pelangi", "ada buku laskar pelangi di rak mana") == "laskar pelangi"
    assert complete_title("pelangi", "ada buku laskar pelangi yang tersedia?") == "laskar pelangi"
    assert complete_title("bumi", "ada buku bumi karya tere liye") == "bumi"
    assert complete_title("Laskar Pelangi", "min ada Laskar Pelangi ga?") == "Laskar Pelangi"

