"""Upcoming events for the period a patron names."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction
from actions.dates import default_period, parse_period
from actions.i18n import language, t
from knowledge.datenames import day_name, month_name
from knowledge.events import EventInfo, names_event_kind, topic_label
from knowledge.faq_search import FaqHit

MAX_REMIND_BUTTONS = 4
# How far ahead an event asked for by its topic is looked for (the calendar's import horizon).
TOPIC_HORIZON = timedelta(days=366)


def format_event(event: EventInfo, lang: str, zone: Any) -> str:
    """"• Sabtu, 28 November, 09.00 — Dongeng Anak (Ruang Anak)"."""
    start = event.starts_at.astimezone(zone)
    when = f"{day_name(start.weekday(), lang)}, {start.day} {month_name(start.month, lang)}, {start:%H.%M}"
    line = f"\u2022 {when} \u2014 {event.title}"
    if event.location:
        line += f" ({event.location})"
    return line


class ActionListEvents(KnowledgeAction):
    """Lists events in the asked period (default: the next two weeks)."""

    def name(self) -> str:
        return "action_list_events"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        zone = self.ctx.zone
        now = datetime.now(zone)
        text = tracker.latest_message.get("text") or ""
        hits: list[FaqHit] = []
        entity = next(tracker.get_latest_entity_values("period"), None)
        period = parse_period(str(entity), now.date()) if entity else None
        period = period or parse_period(text, now.date())
        follow_up = (tracker.latest_message.get("intent") or {}).get("name") == "follow_up"
        if period is None and not follow_up:
            about: list[EventInfo] = []
            named_topic = False
            if not text.startswith("/"):
                # Events by what they are about ("ada lomba buat anak?"), from the calendar.
                evidence = self.ctx.evidence
                if evidence is not None and evidence.topic_events:
                    about, named_topic = list(evidence.topic_events), True
                else:
                    about, named_topic = await asyncio.to_thread(
                        self.ctx.kb.events_about, text, now, now + TOPIC_HORIZON, limit=3)
            # "mobil perpustakaan keliling datang hari apa?" or "jadwal layanan selama ramadan?"
            # are FAQ questions the NLU took for events: the FAQ answers when it is sure, unless
            # the message names a kind of event the calendar has ("ada kegiatan ngabuburit?");
            # its entry on the library's activities (tag `kegiatan`) yields to the calendar.
            hits = await self.faq_hits(tracker)
            if not (about and names_event_kind(text)):
                faq = self.answer_if_confident(dispatcher, tracker, hits, lang, unless_tag="kegiatan")
                if faq is not None:
                    return faq
            if about:
                lines = [t("events.about", lang, topic=topic_label(text))]
                lines += [format_event(e, lang, zone) for e in about]
                dispatcher.utter_message(
                    text="\n".join(lines), buttons=self.remind_buttons(about, lang, tracker.sender_id))
                return self.understood("events")
            if named_topic:
                # A topic no upcoming event is about: say so, and name no other event.
                dispatcher.utter_message(text=t("events.none_about", lang, topic=topic_label(text)))
                self.offer_faq(dispatcher, hits, lang)
                return self.understood("events")
        period = period or default_period(now.date())
        start = max(datetime.combine(period.start, time(0), zone), now)
        end = datetime.combine(period.end, time(0), zone)
        label = period.label(lang)
        events: list[EventInfo] = []
        if not (follow_up or text.startswith("/")):
            # A period and a topic ("bedah buku bulan ini?", "lomba bulan depan ada?"): the
            # period's events about it; none then, the next ones about it; none at all: the
            # whole period's list.
            events, _ = await asyncio.to_thread(self.ctx.kb.events_about, text, start, end, limit=6)
            if not events:
                later, _ = await asyncio.to_thread(self.ctx.kb.events_about, text, now, now + TOPIC_HORIZON, limit=3)
                if later:
                    lines = [t("events.about_later", lang, topic=topic_label(text), period=label)]
                    lines += [format_event(e, lang, zone) for e in later]
                    dispatcher.utter_message(
                        text="\n".join(lines), buttons=self.remind_buttons(later, lang, tracker.sender_id))
                    return [SlotSet("period", label), *self.understood("events")]
        if not events:
            events = await asyncio.to_thread(self.ctx.kb.events, start, end, limit=6)
        if not events:
            dispatcher.utter_message(text=t("events.none", lang, period=label))
        else:
            lines = [t("events.list", lang, period=label)]
            lines += [format_event(e, lang, zone) for e in events]
            dispatcher.utter_message(text="\n".join(lines), buttons=self.remind_buttons(events, lang, tracker.sender_id))
        self.offer_faq(dispatcher, hits, lang)  # "gratis ga?", "kegiatan rutinnya apa?" are the FAQ's
        return [SlotSet("period", label), *self.understood("events")]

    def remind_buttons(self, events: list[EventInfo], lang: str, sender: str) -> list[dict[str, str]]:
        """"Ingatkan saya" for the first listed events, where the gateway stores reminders and the
        channel can deliver them (not the web chat: nothing reaches a closed page)."""
        if self.ctx.subscriptions is None or sender.startswith("web:"):
            return []
        from actions.subscriptions import remind_button

        return [remind_button(e.id, e.title, lang) for e in events[:MAX_REMIND_BUTTONS] if e.id is not None]
