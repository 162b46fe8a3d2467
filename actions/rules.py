"""Which reply a message gets: the priority rules, in one place.

The NLU reads the wording; the evidence says what the library's knowledge holds. The rules
below combine both, in order, and name the winner and why (the decision's explanation):

0. Before the NLU is asked (the gateway applies these): a complaint or an explicit request for a
   person ("mau bicara dengan petugas") is handed to a librarian (:func:`detect_trigger`), and
   while a patron waits for one, a cancel word ("batal", "gak jadi") takes them back to the bot
   (:func:`is_cancel`). Subscription words win over nothing there: "batal" stays a cancel word
   (only "batal langganan" unsubscribes), and "berhenti"/"stop" while waiting only unsubscribe,
   the patron stays in the queue (the gateway applies :func:`subscription_command` itself, since
   the engine does not answer during a handoff).
1. A button the patron tapped is what they chose; "hapus data saya" asks to confirm deleting the
   patron's data; the comment the bot asked for after a 👎 or a rating is a comment.
1b. A subscription command typed ("langganan info acara", ``/langganan``, "berhenti", ``/stop``)
   subscribes or unsubscribes, whatever the NLU read (keywords, no NLU intent needed).
2. A request for a person the NLU read is handed over, unless it is a question the FAQ is sure of,
   or a question that names no person ("bisa titip koper di mana?"), which the knowledge decides
   as a FAQ question (an explicit request never gets here: rule 0).
3. A follow-up ("kalau sabtu?", "yang karya Tere Liye") continues the last topic.
4. A catalog title that is clearly what the message is about answers from the catalog, whatever
   the NLU read ("laskar pelangi andrea hirata" is no greeting), unless the FAQ is sure of a
   question the title only brushes against.
5. Small talk (greetings, thanks, goodbyes, "are you a bot?") is small talk, unless the FAQ is
   sure of a real question in the same message; a "ya" to the book the bot offered to note as a
   purchase suggestion records it.
6. Out of scope only when nothing in the library's knowledge is near: a confident FAQ entry or a
   catalog topic found on the whole message answers first. A question about another place or
   library (:mod:`knowledge.elsewhere`) is out of scope, whatever the NLU read.
7. Otherwise the NLU's intent picks the action; each action still looks at the evidence (a FAQ
   question routed to the catalog gets the FAQ's answer, see ``KnowledgeAction.faq_first``). A
   "suggestion" without a word of suggesting, where the NLU also saw a search, searches first.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from actions.context import ConversationContext
from actions.evidence import Evidence, mentions_ebooks, names_book_kind, names_specific_kind
from actions.privacy import is_erase_request, is_yes
from actions.subscriptions import subscription_command
from actions.understanding import Entity, Parse
from knowledge.catalog import Mention
from knowledge.events import names_event_type
from knowledge.text import fold, terms

def normalize(value: str) -> str:
    """Lower case, no accents or punctuation, single spaces."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", value).split())


CANCEL_WORDS = frozenset(
    {"batal", "batalkan", "gak jadi", "ga jadi", "nggak jadi", "tidak jadi", "kembali ke bot",
     "balik ke bot", "cancel", "back to bot", "back to the bot"}
)
_PEOPLE = r"(petugas|pustakawan|admin|orang|manusia|cs|operator|staf|pegawai|karyawan|librarian|person|human|staff)"
_REQUEST = re.compile(
    r"\b(bicara|ngobrol|chat|chatting|hubungkan|sambungkan|ketemu|bertemu|ngomong|talk|speak)\b"
    r"( (dengan|sama|ke|with|to))?( (a|an|the|seorang))? " + _PEOPLE + r"\b"
    r"|\b(admin|cs|petugas|operator) (manusia|asli)\b|\breal (person|human)\b"
)
_NAMES_PERSON = re.compile(r"\b" + _PEOPLE + r"\b")
_COMPLAINT = re.compile(
    r"\b(komplain|complain|complaint|keluhan|mengeluh|kecewa|mengecewakan|tidak puas|gak puas|"
    r"ga puas|nggak puas|pelayanan buruk|pelayanan jelek|payah|lapor petugas|melaporkan petugas)\b"
)


# A short message saying so in the patron's words: "gak jadi deh kak", "batal aja, balik ke bot".
_CANCELS = re.compile(
    r"\b(batal\w*|cancel\w*|(gak|ga|gk|nggak|ngga|enggak|tidak|tdk|g) jadi|(balik|kembali|back) (ke|to)( the)? bot)\b"
)
# ... but not a question about cancelling something ("kalau batal pinjam gimana?").
_QUESTION = re.compile(r"\b(gimana|gmn|bagaimana|apa|apakah|kenapa|kalau|kalo|klo|bisa|bisakah|how|what|can)\b")


def is_cancel(message: str) -> bool:
    """Whether the patron wants to stop waiting for a librarian and go back to the bot."""
    norm = normalize(message)
    if norm in CANCEL_WORDS:
        return True
    return (len(norm.split()) <= 8 and "?" not in message and bool(_CANCELS.search(norm))
            and not _QUESTION.search(norm))


_ASKS = re.compile(
    r"\b(ada|apa|apakah|berapa|brp|brapa|kapan|dimana|mana|gimana|gmn|bagaimana|bisa|bisakah|boleh|bolehkah|"
    r"how|what|when|where|which|is|are|do|does|can|could)\b"
)


def is_question(message: str) -> bool:
    """A question with content words ("jam buka sabtu?", "ada buku bumi"), not "masih menunggu"
    or "halo": what the bot may answer while the patron waits for a librarian."""
    return ("?" in message or bool(_ASKS.search(normalize(message)))) and len(terms(message)) >= 2


def detect_trigger(message: str) -> str | None:
    """A reason to hand off before asking the NLU: ``"complaint"``, ``"patron_request"`` or None."""
    norm = normalize(message)
    if _COMPLAINT.search(norm):
        return "complaint"
    if _REQUEST.search(norm):
        return "patron_request"
    return None


# Intents and the action answering each.
ACTIONS = {
    "faq": "action_answer_faq",
    "search_book": "action_search_catalog",
    "ask_events": "action_list_events",
    "ask_ebooks": "action_list_ebooks",
    "suggest_purchase": "action_suggest_purchase",
    "request_human": "action_handoff",
    "out_of_scope": "action_out_of_scope",
    "follow_up": "action_fallback",
    "nlu_fallback": "action_fallback",
    # Buttons of the bot's own questions (feedback, rating, "hapus data saya").
    "feedback": "action_feedback",
    "rate": "action_rate",
    "feedback_skip": "action_feedback_comment",
    "erase_data": "action_erase",
    # Only from buttons and subscription_command (no NLU intents): subscriptions and reminders.
    "subscribe": "action_subscribe",
    "unsubscribe": "action_unsubscribe",
    "remind_event": "action_remind_event",
}
SMALL_TALK = ("greet", "goodbye", "thanks", "bot_challenge", "affirm", "deny")

# Words of a real purchase suggestion ("usulkan", "tolong dibeli", "request buku"); without one,
# "ada buku X untuk Y?" read as a suggestion is a search first (a miss still offers to note it).
_SUGGESTS = re.compile(
    r"\b(usul\w*|mengusul\w*|beli\w*|dibeli\w*|membeli\w*|pengadaan|sarankan|saran|request|"
    r"suggest\w*|buy|purchase|tambah\w*|ditambah\w*|ajukan|mengajukan|diadakan|adakan|catat\w*)\b"
)

# Words asking how, whether one may, when or where: "kitab suci bisa dibawa pulang?" asks a rule,
# not for the books.
_HOW = re.compile(
    r"\b(bagaimana|gimana|gmn|cara|caranya|boleh|bolehkah|bisa|bisakah|bs|berapa|brp|kapan|dimana|"
    r"mana|how|can|may|when|where)\b"
)

# "yang karya Tere Liye", "kalau yang tersedia?": refines the previous catalog search.
_REFINE = re.compile(r"^(yang|yg|kalau|kalo|klo|trus|terus|the one|only|just|what about|and)\b")


def is_refinement(text: str) -> bool:
    """True for a message that refines the last search instead of starting a new one."""
    return bool(_REFINE.match(fold(text)))


@dataclass(frozen=True)
class Route:
    """The chosen action, the parse it sees, and why."""

    action: str
    parse: Parse
    reason: str


def own_question(parse: Parse, evidence: Evidence, context: ConversationContext) -> Route | None:
    """Rules 1b and 1c (also applied while the NLU is down: they need no NLU)."""
    # 1b. The patron's own data ("hapus data saya"), and the typed "ya" confirming it.
    if context.awaiting == "erase_confirm" and is_yes(parse.text):
        return Route("action_erase", parse, "confirms deleting their data")
    if is_erase_request(parse.text):
        return Route("action_erase_request", parse, "asks to delete their data")
    # 1c. The comment the bot asked for after a 👎 or a rating, unless the message is a question
    # the knowledge is sure of (the patron moved on).
    # (An explicit request for a person never gets here: the gateway hands it over first.)
    if context.awaiting in ("answer_comment", "rating_comment") \
            and not evidence.faq_confident and evidence.strong_mention is None:
        return Route("action_feedback_comment", parse, f"the comment asked for ({context.awaiting})")
    return None


def route(parse: Parse, evidence: Evidence, context: ConversationContext) -> Route:
    """Apply the rules above to one message."""
    intent = parse.intent or "nlu_fallback"
    # 1. A tapped button.
    if parse.from_button:
        if intent in SMALL_TALK:
            return Route(f"utter_{intent}", parse, "button")
        return Route(ACTIONS.get(intent, "action_fallback"), parse, "button")
    # 1b. A subscription command (before the bot's own questions: a command is explicit).
    command = subscription_command(parse.text)
    if command is not None:
        return Route(ACTIONS[command.op], parse.with_intent(command.op), f"subscription words ({command.op})")
    # 1c/1d. The bot's own questions: "hapus data saya", a comment it asked for.
    own = own_question(parse, evidence, context)
    if own is not None:
        return own
    # 1e. The volume of a series the message asks for ("tetralogi buru jilid 1", "lanjutan
    # laskar pelangi yang kedua"): the catalog's series statements answer, whatever the NLU read.
    volume = evidence.volume
    if volume is not None and not (intent == "follow_up" and context.topic):
        found = [Entity("title", volume.hits[0].title, "catalog")] if volume.hits else []
        return Route("action_search_catalog", parse.with_intent("search_book", *found, drop=("title", "author", "subject")),
                     f"volume {volume.number} of the series {volume.series!r} over the NLU's {intent}")
    # 2. A person.
    # (An explicit request is caught before the NLU, :func:`detect_trigger`; a catalog title the
    # message is about — "manusia setengah salmon" — is no request for a person.)
    # A question the FAQ is sure of ("apakah pustakawan bisa bantu cari bahan skripsi?", "mobilnya
    # diparkir di mana?") is answered: the patron asked about the library, not for a person.
    if intent == "request_human" and evidence.strong_mention is None:
        if evidence.faq_confident and evidence.elsewhere is None and is_question(parse.text):
            return Route("action_answer_faq", parse.with_intent("faq"),
                         f"FAQ {evidence.faq[0].item.id!r} is sure of the question the NLU read as a request for a person")
        if not (is_question(parse.text) and not _NAMES_PERSON.search(normalize(parse.text))):
            return Route("action_handoff", parse, "the NLU read a request for a person")
        # A question naming nobody ("koper saya bisa dititipkan di mana?"): the knowledge decides.
        parse, intent = parse.with_intent("faq"), "faq"
    # 3. A follow-up of the last topic. At the start of a conversation there is nothing to follow
    # ("aroma karsa dee", "kak dilan yang kedua (1991) ada gak?"): the knowledge decides.
    nothing_to_follow = not context.topic
    if (intent == "follow_up" and not nothing_to_follow) or (context.topic == "catalog" and is_refinement(parse.text)):
        return Route("action_fallback", parse.with_intent("follow_up"), f"follow-up of {context.topic or 'nothing'}")
    # 4. A title the message is about.
    mention = evidence.strong_mention
    faq_sure_instead = evidence.faq_confident and intent == "faq" and mention is not None and mention.coverage < 0.8
    if mention is not None and not faq_sure_instead and intent not in ("suggest_purchase", "ask_ebooks"):
        return _mentioned(
            parse, mention,
            f"catalog title {mention.hit.title!r} (score {mention.title_score:.0f}, covers "
            f"{mention.coverage:.0%} of the message) over the NLU's {intent}",
        )
    # 4b. Events by their topic, where the message names a kind of event ("ada kelas bikin
    # cerpen?", "klub buku buat anak SMA") and the calendar has one, unless the FAQ is sure (and
    # for a class, contest or workshop asked for, "ada kelas belajar ipusnas?", very sure).
    if evidence.topic_events and intent != "ask_events" and not (
        evidence.faq_confident and intent == "faq" and not _asks_event_type_over_faq(parse, evidence)
    ):
        return Route("action_list_events", parse.with_intent("ask_events"),
                     f"the calendar has {evidence.topic_events[0].title!r} on the message's topic over the NLU's {intent}")
    # 4c. A book title clearly written in a question the FAQ is unsure of ("kak tolong cek tafsir
    # al azhar dong, boleh dibawa pulang gak?").
    mention = evidence.top_mention
    unsure = intent in ("faq", "follow_up", "nlu_fallback")
    if unsure and not evidence.faq_confident and mention is not None and mention.clear:
        return _mentioned(parse, mention,
                          f"catalog title {mention.hit.title!r} (score {mention.title_score:.0f}) where the FAQ is unsure")
    # 4c'. A kind of book more specific than "buku" the FAQ cannot place ("ada kamus bahasa
    # indonesia?", "kumpulan surat2 kartini ada ga"): the catalog's records on that topic.
    if intent == "faq" and not evidence.faq_confident and evidence.topic and names_specific_kind(parse.text) \
            and not _HOW.search(fold(parse.text)):
        topic = _catalog_topic(evidence)
        if topic is not None:
            return Route("action_search_catalog", parse.with_intent("search_book", topic, drop=("title", "author", "subject")),
                         f"the catalog has {evidence.topic[0].title!r} on the kind of book named, where the FAQ is unsure")
    # 4d. A title written whole where the message asks for a book ("mau baca lupus", "sebelas
    # patriot bisa dipinjem?"), whatever else the NLU read (out of scope, thanks), unless the
    # FAQ is sure.
    if mention is not None and mention.asked_for and not evidence.faq_confident \
            and intent not in ("suggest_purchase", "ask_ebooks", "ask_events", "search_book"):
        return _mentioned(parse, mention, f"catalog title {mention.hit.title!r} asked for over the NLU's {intent}")
    # 5. Small talk; "ya" to the book the bot offered to note is the yes that records it.
    if intent == "affirm" and context.offered_title:
        return Route("action_suggest_purchase", parse.with_intent("suggest_purchase"),
                     f"yes to noting {context.offered_title!r} as a purchase suggestion")
    if intent in SMALL_TALK:
        if evidence.faq_confident and len(terms(parse.text)) >= 3:
            return Route("action_answer_faq", parse.with_intent("faq"),
                         f"FAQ {evidence.faq[0].item.id!r} is sure of the question beside the {intent}")
        return Route(f"utter_{intent}", parse, f"small talk ({intent})")
    # 6. Out of scope / unclear: the knowledge first. A question about another place or library
    # ("jam buka dukcapil?", "perpus SMA 1 buka jam brp?") is out of scope whatever the NLU read:
    # the library's facts would answer it wrongly.
    if intent in ("faq", "out_of_scope", "nlu_fallback") and evidence.elsewhere is not None:
        return Route("action_out_of_scope", parse.with_intent("out_of_scope"),
                     f"the message is about {evidence.elsewhere!r}, not the library (NLU: {intent})")
    if intent in ("out_of_scope", "nlu_fallback"):
        if evidence.faq_confident and not _nlu_outweighs_faq(parse, evidence):
            return Route("action_answer_faq", parse.with_intent("faq"),
                         f"FAQ {evidence.faq[0].item.id!r} is sure, over the NLU's {intent}")
        topic = _catalog_topic(evidence)
        if topic is not None:
            found = (evidence.catalog or evidence.topic)[0].title
            return Route("action_search_catalog", parse.with_intent("search_book", topic, drop=("title", "author", "subject")),
                         f"the catalog finds {found!r} by {topic.entity} on the whole message")
        return Route(ACTIONS[intent], parse, f"nothing in the knowledge is near ({intent})")
    # 7. The NLU's intent, with the whole message's catalog evidence for book searches.
    if intent == "suggest_purchase" and not _SUGGESTS.search(fold(parse.text)) and not context.offered_title \
            and (parse.score("search_book") >= 0.15 or (mention is not None and mention.clear)):
        return _book_search(parse.with_intent("search_book"), evidence)
    # An e-book question without a word of e-books ("kak aku pengen baca guru aini", "any English
    # book about programming?") is a book question; a book question saying "ebook" without a
    # title the catalog has ("ebook budidaya karet ada?") asks for e-books.
    if intent == "ask_ebooks" and not mentions_ebooks(parse.text) and (
        (mention is not None and mention.clear) or names_book_kind(parse.text)
    ):
        return _book_search(parse.with_intent("search_book"), evidence)
    if intent == "search_book" and mentions_ebooks(parse.text) and evidence.strong_mention is None:
        return Route("action_list_ebooks", parse.with_intent("ask_ebooks"), "a book question saying e-book")
    if intent == "search_book":
        return _book_search(parse, evidence)
    return Route(ACTIONS.get(intent, "action_fallback"), parse, f"the NLU's {intent}")


# The NLU's out-of-scope reading and the FAQ judge's probability together: a question the NLU
# is sure is out of scope is answered from the FAQ only when the judge is surer still.
NLU_SURE_OUT_OF_SCOPE = 0.6
FAQ_SURE_OVER_NLU = 0.85


def _nlu_outweighs_faq(parse: Parse, evidence: Evidence) -> bool:
    """True when the NLU's confident out-of-scope reading beats the FAQ's answer."""
    best = evidence.faq[0] if evidence.faq else None
    if best is None or best.confidence is None or parse.intent != "out_of_scope":
        return False
    return parse.confidence >= NLU_SURE_OUT_OF_SCOPE and best.confidence < FAQ_SURE_OVER_NLU


def _asks_event_type_over_faq(parse: Parse, evidence: Evidence) -> bool:
    """True when the message asks for a kind of event the calendar has and the FAQ's judge is
    not very sure of its entry."""
    best = evidence.faq[0] if evidence.faq else None
    judge = best.confidence if best is not None and best.confidence is not None else 1.0
    return names_event_type(parse.text) and judge < FAQ_SURE_OVER_NLU


def _mentioned(
    parse: Parse, mention: Mention, reason: str, *, drop: tuple[str, ...] = ("title", "author", "subject")
) -> Route:
    """A catalog search for the title (and its author) written in the message, in place of the
    NLU's ``drop`` entities."""
    found = [Entity("title", mention.hit.title, "catalog")]
    if mention.author:
        found.append(Entity("author", mention.author, "catalog"))
    return Route("action_search_catalog", parse.with_intent("search_book", *found, drop=drop), reason)


def _catalog_topic(evidence: Evidence) -> Entity | None:
    """The field the whole-message catalog search matched, as an entity (None: nothing found)."""
    if not evidence.catalog:
        # Nothing by title, author or every subject word: records about the message's topic.
        if evidence.topic and evidence.catalog_query:
            return Entity("subject", evidence.catalog_query, "topic")
        return None
    best = evidence.catalog[0]
    if best.matched == "title":
        return Entity("title", best.title, "catalog")
    if best.matched in ("author", "subject"):
        query = evidence.catalog_query
        return Entity(best.matched, query, "catalog") if query else None
    return None


def _book_search(parse: Parse, evidence: Evidence) -> Route:
    """A book question: the tagged title, unless the message itself names a better one."""
    tagged = parse.entity("title")
    mention = evidence.top_mention
    # A title written among other words, where the message's topic finds records too ("buku
    # tentang prasasti-prasasti kerajaan sriwijaya"): the topic's records (the title among them).
    weak = mention is not None and not mention.clear and bool(evidence.topic) and tagged is None
    if mention is not None and mention.title_score >= 90 and not weak:
        title_words = set(fold(mention.hit.title).split())
        # ... or the title the message asks for, beside a stray tag ("nyuruh baca siti nurbaya").
        if tagged is None or set(fold(tagged).split()) < title_words or mention.asked_for:
            return _mentioned(parse, mention,
                              f"catalog title {mention.hit.title!r} in the message completes the NLU's {tagged!r}",
                              drop=("title",))
    if not (tagged or parse.entity("author") or parse.entity("subject")):
        topic = _catalog_topic(evidence)
        if topic is not None:
            found = (evidence.catalog or evidence.topic)[0].title
            return Route("action_search_catalog", parse.with_intent("search_book", topic),
                         f"the catalog finds {found!r} by {topic.entity} on the whole message")
    return Route("action_search_catalog", parse, "the NLU's search_book")
