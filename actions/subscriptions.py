"""Subscriptions, opt-out and event reminders in chat: the topics, the words, the actions.

A patron opts in with "langganan info acara", ``/langganan`` or a button, and out with one word,
"berhenti" or ``/stop`` (Telegram turns ``/stop`` into "stop"). The actions only decide and
word the reply; the gateway stores subscriptions and reminders behind :class:`SubscriptionStore`
(``bot/subscriptions.py``), so data still flows one way (the engine never imports the gateway).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction, button, intent_payload
from actions.i18n import language
from knowledge.datenames import day_name, month_name
from knowledge.text import fold

# --- topics ----------------------------------------------------------------------------------

#: Fixed topics and their labels (Indonesian, English). ``koleksi_subjek:<subject>`` and
#: ``koleksi_penulis:<author>`` are parameterised new-arrival topics.
TOPICS: dict[str, tuple[str, str]] = {
    "acara": ("Semua acara", "All events"),
    "acara_anak": ("Acara anak", "Children's events"),
    "acara_workshop": ("Workshop dan pelatihan", "Workshops"),
    "acara_literasi": ("Kegiatan literasi", "Literacy events"),
    "koleksi_baru": ("Buku baru", "New books"),
    "koleksi_anak": ("Buku anak baru", "New children's books"),
    "pengumuman": ("Pengumuman perpustakaan", "Library notices"),
}
SUBJECT_PREFIX = "koleksi_subjek:"
AUTHOR_PREFIX = "koleksi_penulis:"
#: A broad topic includes its narrower ones (an "acara" subscriber gets every event announcement).
PARENT = {"acara_anak": "acara", "acara_workshop": "acara", "acara_literasi": "acara", "koleksi_anak": "koleksi_baru"}


def topic_label(topic: str, lang: str = "id") -> str:
    """How a topic is shown to patrons and librarians."""
    if topic in TOPICS:
        ind, en = TOPICS[topic]
        return en if lang == "en" else ind
    if topic.startswith(SUBJECT_PREFIX):
        value = topic.removeprefix(SUBJECT_PREFIX)
        return f"New books on {value}" if lang == "en" else f"Buku baru tentang {value}"
    if topic.startswith(AUTHOR_PREFIX):
        value = topic.removeprefix(AUTHOR_PREFIX)
        value = value.title()
        return f"New books by {value}" if lang == "en" else f"Buku baru karya {value}"
    return topic


def valid_topic(topic: str) -> bool:
    """Whether ``topic`` is a topic patrons can subscribe to."""
    if topic in TOPICS:
        return True
    for prefix in (SUBJECT_PREFIX, AUTHOR_PREFIX):
        if topic.startswith(prefix) and 2 <= len(topic.removeprefix(prefix)) <= 100:
            return True
    return False


def audience(topic: str) -> set[str]:
    """The subscription topics whose subscribers receive an announcement to ``topic``."""
    topics = {topic}
    if topic in PARENT:
        topics.add(PARENT[topic])
    return topics


# --- words -----------------------------------------------------------------------------------

_LEAD = r"^(?:(?:saya|aku|sy|ak|gw|mau|ingin|pengen|pingin|tolong|minta|boleh|bisa|please|i want to|i'd like to)\s+)*"
_SUBSCRIBE = re.compile(_LEAD + r"(langganan|berlangganan|langganin|subscribe|subscription)\b")
_UNSUBSCRIBE = re.compile(
    r"^(?:(?:saya|aku|mau|ingin|tolong|please)\s+)*(berhenti|stop|henti(?:kan)?|batal|batalkan|hapus|unsubscribe|"
    r"cancel)\s*(langganan|berlangganan|subscription|semua langganan)?\b|^unsubscribe\b"
)
#: One word opts out of everything, on every channel ("/stop" arrives from Telegram as "stop").
STOP_WORDS = frozenset({"berhenti", "stop", "unsubscribe", "/stop", "/berhenti", "/unsubscribe"})

_TOPIC_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("acara_anak", re.compile(r"\b(acara|kegiatan|event|dongeng)\w* (untuk )?anak|\bdongeng\b|children'?s? events?|kids events?")),
    ("acara_workshop", re.compile(r"\b(workshop|pelatihan|lokakarya|kelas|training)\b")),
    ("acara_literasi", re.compile(r"\b(literasi|literacy|bedah buku|diskusi buku|klub buku|book club)\b")),
    ("koleksi_anak", re.compile(r"\bbuku (baru )?(untuk )?anak|children'?s books?|kids books?")),
    ("koleksi_baru", re.compile(r"\b(buku|koleksi) baru\b|\bnew (books?|arrivals?)\b|\bkoleksi\b")),
    ("pengumuman", re.compile(r"\b(pengumuman|info perpustakaan|berita|notices?|news|announcements?)\b")),
    ("acara", re.compile(r"\b(acara|kegiatan|events?|agenda)\b")),
)
_FILLER = frozenset({"info", "dong", "ya", "yah", "kak", "min", "admin", "deh", "aja", "saja", "bot", "please", "pls",
                     "to", "me", "updates", "update", "kabar", "sekarang", "lagi", "nya", "yuk"})
_SUBJECT = re.compile(r"\b(?:tentang|bertema|subjek|topik|about|on)\s+(?P<value>[\w' .-]{2,60})$")
_AUTHOR = re.compile(r"\b(?:karya|penulis|pengarang|oleh|by)\s+(?P<value>[\w' .-]{2,60})$")


@dataclass(frozen=True)
class SubscriptionCommand:
    """What a typed message asks: ``op`` "subscribe" (``topics`` empty: show the menu) or
    "unsubscribe" (``topics`` empty: everything)."""

    op: str
    topics: tuple[str, ...] = ()


def subscription_command(message: str) -> SubscriptionCommand | None:
    """The subscription request in a typed message, or None (most messages)."""
    raw = message.strip()
    lowered = raw.lower()
    if lowered in STOP_WORDS:
        return SubscriptionCommand("unsubscribe")
    text = fold(raw.lstrip("/")) if raw.startswith("/") else fold(raw)
    text = " ".join(re.sub(r"[^\w' .-]+", " ", text).split())
    if not text or len(text) > 160:
        return None
    stop = _UNSUBSCRIBE.match(text)
    if stop is not None:
        verb, noun = stop.group(1), stop.group(2)
        rest = text[stop.end():].strip()
        if not noun and verb not in (None, "berhenti", "stop", "unsubscribe"):
            return None  # "batal", "hapus data saya": not about subscriptions
        if not noun and rest and not _topics(rest):
            return None  # "berhenti merokok?", "stop kontak ada?": some other question
        return SubscriptionCommand("unsubscribe", _topics(rest))
    if _SUBSCRIBE.match(text):
        rest = _SUBSCRIBE.sub("", text, count=1).strip()
        topics = _topics(rest)
        if not topics and not set(rest.split()) <= _FILLER:
            return None  # "langganan koran ada?": a question about the library, not an opt-in
        return SubscriptionCommand("subscribe", topics)
    return None


def _topics(rest: str) -> tuple[str, ...]:
    """The topics named after the verb ("info acara anak", "buku baru karya Tere Liye")."""
    if not rest:
        return ()
    for pattern, prefix in ((_AUTHOR, AUTHOR_PREFIX), (_SUBJECT, SUBJECT_PREFIX)):
        match = pattern.search(rest)
        if match and re.search(r"\b(buku|koleksi|books?)\b", rest[: match.start()] or "buku"):
            value = match.group("value").strip(" .-")
            if len(value) >= 2:
                return (prefix + value,)
    for topic, pattern in _TOPIC_WORDS:
        if pattern.search(rest):
            return (topic,)
    return ()


# --- the gateway's side ----------------------------------------------------------------------


class SubscriptionStore(Protocol):
    """What the actions need from the gateway (implemented in ``bot/subscriptions.py``)."""

    async def topics(self, sender: str) -> list[str]:
        """The active topics of conversation ``sender`` ("telegram:123")."""

    async def subscribe(self, sender: str, topics: list[str]) -> list[str]:
        """Add ``topics``; returns the ones that were not active before."""

    async def unsubscribe(self, sender: str, topics: list[str] | None) -> list[str]:
        """End ``topics`` (None: all); returns the ones that were active."""

    async def remind(self, sender: str, event: ReminderRequest) -> bool:
        """Store a reminder; False when one for this event was already set."""


@dataclass(frozen=True)
class ReminderRequest:
    """A reminder to store: the event and when to send it (UTC-aware)."""

    event_id: int
    title: str
    location: str | None
    starts_at: datetime
    due_at: datetime
    language: str


def reminder_time(starts_at: datetime, now: datetime, zone: ZoneInfo, hour: int) -> datetime | None:
    """When to remind of an event starting at ``starts_at``: ``hour`` o'clock (library time) the
    day before; when that has passed, two hours before the start; None when that has passed too."""
    local = starts_at.astimezone(zone)
    due = datetime.combine(local.date() - timedelta(days=1), datetime.min.time(), zone).replace(hour=hour)
    if due > now:
        return due
    due = starts_at - timedelta(hours=2)
    return due if due > now else None


def when_text(moment: datetime, zone: ZoneInfo, lang: str) -> str:
    """"Sabtu, 28 November, 09.00"."""
    local = moment.astimezone(zone)
    return f"{day_name(local.weekday(), lang)}, {local.day} {month_name(local.month, lang)}, {local:%H.%M}"


# --- texts -----------------------------------------------------------------------------------

TEXTS: dict[str, tuple[str, str]] = {
    "menu": ("Mau berlangganan info apa, Kak? Pilih salah satu:", "What would you like to subscribe to?"),
    "current": ("Langganan Kakak sekarang: {topics}.", "Your subscriptions: {topics}."),
    "subscribed": (
        "Siap, Kak! Kakak sekarang berlangganan: {topics}. Info akan dikirim lewat chat ini. "
        "Ketik \u201cberhenti\u201d kapan saja untuk berhenti berlangganan.",
        "Done! You're now subscribed to: {topics}. Updates come through this chat. "
        "Type \u201cstop\u201d at any time to unsubscribe.",
    ),
    "already": (
        "Kakak sudah berlangganan {topics}, Kak. Ketik \u201cberhenti\u201d untuk berhenti berlangganan.",
        "You're already subscribed to {topics}. Type \u201cstop\u201d to unsubscribe.",
    ),
    "stopped": (
        "Baik, Kak. Kakak sudah berhenti berlangganan: {topics}. Kami tidak akan mengirim info itu lagi. "
        "Ketik \u201clangganan\u201d kalau ingin berlangganan lagi.",
        "Done. You've unsubscribed from: {topics}. We won't send those updates any more. "
        "Type \u201csubscribe\u201d to subscribe again.",
    ),
    "none": (
        "Kakak tidak sedang berlangganan info apa pun, Kak. Ketik \u201clangganan\u201d untuk mulai berlangganan.",
        "You have no subscriptions. Type \u201csubscribe\u201d to start one.",
    ),
    "web": (
        "Maaf Kak, info langganan tidak bisa dikirim ke web chat (pesannya hanya tampil saat halaman ini "
        "terbuka). Silakan berlangganan lewat Telegram, WhatsApp, Messenger, atau Instagram perpustakaan ya.",
        "Sorry, updates can't be sent to the web chat (it only shows messages while this page is open). "
        "Please subscribe on the library's Telegram, WhatsApp, Messenger or Instagram.",
    ),
    "unavailable": (
        "Maaf Kak, langganan sedang tidak bisa diproses. Coba lagi nanti ya.",
        "Sorry, subscriptions can't be handled right now. Please try again later.",
    ),
    "remind.set": (
        "Siap, Kak! Saya akan mengingatkan Kakak tentang \u201c{title}\u201d pada {due}. Acaranya {start}.",
        "Sure! I'll remind you of \u201c{title}\u201d on {due}. It starts {start}.",
    ),
    "remind.already": (
        "Pengingat untuk \u201c{title}\u201d sudah terpasang, Kak.",
        "A reminder for \u201c{title}\u201d is already set.",
    ),
    "remind.too_late": (
        "Acara \u201c{title}\u201d sebentar lagi dimulai ({start}), Kak. Sampai jumpa di sana!",
        "\u201c{title}\u201d starts very soon ({start}). See you there!",
    ),
    "remind.unknown": (
        "Maaf Kak, acara itu tidak ditemukan atau sudah lewat.",
        "Sorry, that event can't be found or is over.",
    ),
    "remind.button": ("\u23f0 Ingatkan: {title}", "\u23f0 Remind me: {title}"),
    "remind.message": (
        "\u23f0 Pengingat, Kak: \u201c{title}\u201d dimulai {start}{place}. Sampai jumpa di perpustakaan!",
        "\u23f0 Reminder: \u201c{title}\u201d starts {start}{place}. See you at the library!",
    ),
    "digest.intro": ("\U0001f4da Buku baru di perpustakaan minggu ini, Kak:", "\U0001f4da New at the library this week:"),
    "digest.more": ("\u2026 dan {n} judul lainnya.", "\u2026 and {n} more titles."),
    "digest.outro": (
        "Ketik judulnya untuk cek ketersediaan. Ketik \u201cberhenti\u201d untuk berhenti berlangganan.",
        "Type a title to check availability. Type \u201cstop\u201d to unsubscribe.",
    ),
    "announcement.footer": ("Ketik \u201cberhenti\u201d untuk berhenti berlangganan.", "Type \u201cstop\u201d to unsubscribe."),
}


def say(key: str, lang: str, **values: Any) -> str:
    """Text ``key`` in ``lang``."""
    ind, en = TEXTS[key]
    return (en if lang == "en" else ind).format(**values)


def _list(topics: list[str], lang: str) -> str:
    return ", ".join(topic_label(t, lang) for t in topics)


def menu_buttons(lang: str, exclude: Sequence[str] = ()) -> list[dict[str, str]]:
    """One button per fixed topic (payload ``/subscribe{"topic": ...}``)."""
    return [button(topic_label(t, lang), intent_payload("subscribe", topic=t)) for t in TOPICS if t not in exclude]


class ActionSubscribe(KnowledgeAction):
    """Subscribes to the topic named (or shows the menu of topics)."""

    def name(self) -> str:
        return "action_subscribe"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        store = self.ctx.subscriptions
        sender = tracker.sender_id
        if store is None:
            dispatcher.utter_message(text=say("unavailable", lang))
            return self.understood("subscriptions")
        if sender.startswith("web:"):
            dispatcher.utter_message(text=say("web", lang))
            return self.understood("subscriptions")
        topic = next(tracker.get_latest_entity_values("topic"), None)
        topics = [str(topic)] if topic and valid_topic(str(topic)) else []
        if not topics:
            command = subscription_command(tracker.latest_message.get("text") or "")
            topics = list(command.topics) if command and command.op == "subscribe" else []
        if not topics:
            current = await store.topics(sender)
            text = say("menu", lang)
            if current:
                text = say("current", lang, topics=_list(current, lang)) + "\n" + text
            dispatcher.utter_message(text=text, buttons=menu_buttons(lang, exclude=current))
            return self.understood("subscriptions")
        added = await store.subscribe(sender, topics)
        key = "subscribed" if added else "already"
        dispatcher.utter_message(text=say(key, lang, topics=_list(topics, lang)))
        return self.understood("subscriptions")


class ActionUnsubscribe(KnowledgeAction):
    """Ends the topic named, or every subscription ("berhenti", "/stop")."""

    def name(self) -> str:
        return "action_unsubscribe"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        store = self.ctx.subscriptions
        if store is None:
            dispatcher.utter_message(text=say("unavailable", lang))
            return self.understood("subscriptions")
        dispatcher.utter_message(text=await unsubscribe_reply(store, tracker.sender_id,
                                                              tracker.latest_message.get("text") or "",
                                                              next(tracker.get_latest_entity_values("topic"), None),
                                                              lang))
        return self.understood("subscriptions")


async def unsubscribe_reply(
    store: SubscriptionStore, sender: str, text: str, topic: Any, lang: str
) -> str:
    """Unsubscribe as ``text`` (or the button's ``topic``) asks, and the confirmation to send."""
    topics: list[str] | None = [str(topic)] if topic and valid_topic(str(topic)) else None
    if topics is None:
        command = subscription_command(text)
        topics = list(command.topics) if command and command.topics else None
    if topics is not None:
        topics = sorted({t for t in topics} | ({c for c in TOPICS if PARENT.get(c) in topics}))
    ended = await store.unsubscribe(sender, topics)
    return say("stopped", lang, topics=_list(ended, lang)) if ended else say("none", lang)


class ActionRemindEvent(KnowledgeAction):
    """"Ingatkan saya" on a listed event: a reminder the day before (``REMINDER_HOUR``)."""

    def name(self) -> str:
        return "action_remind_event"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        store = self.ctx.subscriptions
        zone = self.ctx.zone
        raw = next(tracker.get_latest_entity_values("event_id"), None)
        event_id = int(raw) if raw is not None and str(raw).isdigit() else None
        event = await asyncio.to_thread(self.ctx.kb.event, event_id) if event_id is not None else None
        now = datetime.now(zone)
        if store is None:
            dispatcher.utter_message(text=say("unavailable", lang))
            return self.understood("events")
        if event is None or event.starts_at <= now:
            dispatcher.utter_message(text=say("remind.unknown", lang))
            return self.understood("events")
        start = when_text(event.starts_at, zone, lang)
        if tracker.sender_id.startswith("web:"):
            dispatcher.utter_message(text=say("web", lang))
            return self.understood("events")
        due = reminder_time(event.starts_at, now, zone, self.ctx.reminder_hour)
        if due is None:
            dispatcher.utter_message(text=say("remind.too_late", lang, title=event.title, start=start))
            return self.understood("events")
        request = ReminderRequest(event_id=int(event_id or 0), title=event.title, location=event.location,
                                  starts_at=event.starts_at, due_at=due, language=lang)
        if await store.remind(tracker.sender_id, request):
            dispatcher.utter_message(text=say("remind.set", lang, title=event.title, due=when_text(due, zone, lang),
                                              start=start))
        else:
            dispatcher.utter_message(text=say("remind.already", lang, title=event.title))
        return [SlotSet("topic", "events"), SlotSet("failed_turns", 0.0)]


def remind_button(event_id: int, title: str, lang: str) -> dict[str, str]:
    """The "Ingatkan saya" button of one listed event."""
    short = title if len(title) <= 24 else title[:23].rstrip() + "\u2026"
    return button(say("remind.button", lang, title=short), intent_payload("remind_event", event_id=event_id))
