"""A FAQ question the NLU routed elsewhere still gets the librarians' answer; real requests don't."""

from __future__ import annotations

from sqlalchemy import func, select

from actions.base import ActionContext
from actions.catalog import ActionSearchCatalog, ActionSuggestPurchase
from actions.ebooks import ActionListEbooks
from actions.events import ActionListEvents
from knowledge.models import PurchaseSuggestion
from tests.actions.conftest import Conversation


def suggestions(ctx: ActionContext) -> int:
    with ctx.kb.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(PurchaseSuggestion)) or 0)


def answer_of(ctx: ActionContext, faq_id: str) -> str:
    return next(i.answer for i in ctx.kb.faq_store.entries() if i.id == faq_id)


async def test_catalog_miss_without_a_named_book_answers_from_the_faq(ctx: ActionContext) -> None:
    turn = await Conversation().say(ActionSearchCatalog(ctx), "mobil perpustakaan keliling datang hari apa", "search_book")
    assert turn.text == answer_of(ctx, "perpustakaan-keliling")
    assert turn.slots["topic"] == "faq" and turn.slots["last_faq"] == "perpustakaan-keliling"


async def test_a_named_missing_book_is_still_not_found_not_the_faq(ctx: ActionContext) -> None:
    # "ada buku X?" resembles the FAQ's how-to-check-the-catalog entry, but the patron named a book.
    turn = await Conversation().say(
        ActionSearchCatalog(ctx), "ada buku kalkulus lanjut?", "search_book", {"title": "kalkulus lanjut"}
    )
    assert "belum ada" in turn.text
    assert turn.slots["topic"] == "catalog"


async def test_a_found_book_is_the_catalog_answer(ctx: ActionContext) -> None:
    turn = await Conversation().say(
        ActionSearchCatalog(ctx), "ada buku laskar pelangi?", "search_book", {"title": "laskar pelangi"}
    )
    assert "Laskar Pelangi" in turn.text and turn.slots["topic"] == "catalog"


async def test_how_to_question_about_ebooks_gets_the_faq(ctx: ActionContext) -> None:
    turn = await Conversation().say(ActionListEbooks(ctx), "gimana cara pinjam ebook pakai ipusnas", "ask_ebooks")
    assert turn.text == answer_of(ctx, "ebook-ipusnas")


async def test_ebooks_on_a_subject_are_listed(ctx: ActionContext) -> None:
    turn = await Conversation().say(
        ActionListEbooks(ctx), "ada ebook tentang kesehatan?", "ask_ebooks", {"subject": "kesehatan"}
    )
    assert "http" in turn.text and turn.slots["topic"] == "ebooks"


async def test_events_without_a_date_that_are_a_faq_question(ctx: ActionContext) -> None:
    turn = await Conversation().say(ActionListEvents(ctx), "jadwal layanan selama ramadhan gimana", "ask_events")
    assert turn.text == answer_of(ctx, "jam-buka-ramadan")


async def test_what_is_on_is_the_events_list_not_the_faq_about_activities(ctx: ActionContext) -> None:
    # The FAQ's `kegiatan` entry matches, but the patron wants what is coming up.
    turn = await Conversation().say(ActionListEvents(ctx), "ada acara apa aja?", "ask_events")
    assert turn.slots["topic"] == "events"
    assert turn.text != answer_of(ctx, "kegiatan-perpustakaan")


async def test_asking_how_to_suggest_a_book_is_answered_not_recorded(ctx: ActionContext) -> None:
    before = suggestions(ctx)
    turn = await Conversation().say(
        ActionSuggestPurchase(ctx), "cara mengajukan judul buku untuk dibeli perpus", "suggest_purchase", {"title": "untuk"}
    )
    assert turn.text == answer_of(ctx, "usul-buku")
    assert suggestions(ctx) == before


async def test_a_named_suggestion_is_recorded(ctx: ActionContext) -> None:
    before = suggestions(ctx)
    turn = await Conversation().say(
        ActionSuggestPurchase(ctx), "tolong beliin buku atomic habits dong", "suggest_purchase", {"title": "atomic habits"}
    )
    assert "atomic habits" in turn.text
    assert suggestions(ctx) == before + 1


async def test_button_payloads_are_not_reread_as_faq_questions(ctx: ActionContext) -> None:
    turn = await Conversation().say(
        ActionSearchCatalog(ctx), '/search_book{"title":"jadwal ramadhan"}', "search_book", {"title": "jadwal ramadhan"}
    )
    assert "belum ada" in turn.text


async def test_no_matching_ebook_lets_the_faq_answer(ctx: ActionContext) -> None:
    # The NLU took "pendek" for an e-book subject; no e-book has it; the FAQ knows the dress code.
    turn = await Conversation().say(
        ActionListEbooks(ctx), "ke perpus boleh pakai celana pendek ga kak?", "ask_ebooks", {"subject": "pendek"}
    )
    assert turn.text == answer_of(ctx, "pakaian")
