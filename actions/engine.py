"""The answer engine: one knowledge-grounded decision per message, in the gateway's process.

``decide(message, parse, context) -> Decision``: gather the knowledge's evidence on the message
(concurrently), pick the reply from that evidence and the NLU's ranking (``actions.rules``), run
the chosen action, and return the reply with the conversation's new context. The actions keep
rasa-sdk's small ``Action`` contract (``run(dispatcher, tracker, domain)``) and run in this
process: the tracker they see is built from the typed context record and this message's parse
only, so a turn costs the same however long the conversation is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ActionContext
from actions.catalog import ActionSearchCatalog, ActionSuggestPurchase
from actions.context import ConversationContext
from actions.ebooks import ActionListEbooks
from actions.events import ActionListEvents
from actions.evidence import Evidence, TextEvidence, gather, gather_text
from actions.faq import ActionAnswerFaq, ActionFallback, ActionOutOfScope
from actions.feedback import ActionFeedback, ActionFeedbackComment, ActionRate
from actions.outcome import SIGNAL_KEY
from actions.privacy import ActionErase, ActionEraseRequest
from actions.handoff import HANDOFF_KEY, ActionHandoff
from actions.i18n import t
from actions.rules import Route, own_question, route
from actions.smalltalk import ActionSmallTalk
from actions.subscriptions import (
    ActionRemindEvent,
    ActionSubscribe,
    ActionUnsubscribe,
    SubscriptionStore,
    subscription_command,
)
from actions.understanding import Parse
from knowledge.kb import KnowledgeBase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ButtonOut:
    """A choice offered with a reply; ``payload`` comes back as the patron's next message."""

    title: str
    payload: str


@dataclass(frozen=True)
class MessageOut:
    """One reply message, channel-neutral."""

    text: str
    buttons: tuple[ButtonOut, ...] = ()
    image: str | None = None


@dataclass(frozen=True)
class HandoffRequest:
    """The engine asks the gateway to queue the conversation for a librarian."""

    reason: str
    language: str


@dataclass(frozen=True)
class TurnOutcome:
    """What kind of turn this was, for the librarians' analytics (stored by the gateway).

    ``kind``: answered | asked_back | declined | handed_over; ``faq_id`` the entry answered;
    ``searched`` the title (or author, subject, words) looked up in the catalog and ``found``
    whether the catalog had it.
    """

    kind: str
    action: str
    faq_id: str | None = None
    searched: str | None = None
    found: bool | None = None


@dataclass(frozen=True)
class FeedbackSignal:
    """A patron's feedback to store: ``kind`` "answer" (``ref`` the turn, ``value`` ±1) or
    "rating" (``ref`` the handoff, ``value`` 1–5); ``comment`` alone adds a comment to it."""

    kind: str
    ref: int
    value: int | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Decision:
    """What the engine answers to one message."""

    messages: tuple[MessageOut, ...]
    context: ConversationContext
    handoff: HandoffRequest | None = None
    degraded: bool = False
    explanation: dict[str, Any] = field(default_factory=dict)
    # For the gateway: the turn's kind (None for the bot's own questions: feedback, erasure),
    # a patron's feedback to store, and a confirmed "hapus data saya".
    turn: TurnOutcome | None = None
    feedback: FeedbackSignal | None = None
    erase: bool = False


ACTION_TYPES: dict[str, type[Action]] = {
    "action_answer_faq": ActionAnswerFaq,
    "action_fallback": ActionFallback,
    "action_out_of_scope": ActionOutOfScope,
    "action_search_catalog": ActionSearchCatalog,
    "action_suggest_purchase": ActionSuggestPurchase,
    "action_list_events": ActionListEvents,
    "action_list_ebooks": ActionListEbooks,
    "action_subscribe": ActionSubscribe,
    "action_unsubscribe": ActionUnsubscribe,
    "action_remind_event": ActionRemindEvent,
}
# Actions without the knowledge: the bot's own questions (their turns are not analytics turns).
OWN_QUESTIONS: dict[str, type[Action]] = {
    "action_feedback": ActionFeedback,
    "action_rate": ActionRate,
    "action_feedback_comment": ActionFeedbackComment,
    "action_erase_request": ActionEraseRequest,
    "action_erase": ActionErase,
}


class AnswerEngine:
    """Decides every reply from the NLU's reading and the knowledge's evidence."""

    def __init__(
        self, kb: KnowledgeBase, zone: ZoneInfo, *, subscriptions: SubscriptionStore | None = None,
        reminder_hour: int = 18,
    ) -> None:
        self.kb = kb
        self.zone = zone
        self.subscriptions = subscriptions
        self.reminder_hour = reminder_hour

    async def answer(
        self,
        message: str,
        read: Callable[[], Awaitable[Parse | None]],
        context: ConversationContext,
        *,
        sender_id: str = "patron",
    ) -> Decision:
        """Like :meth:`decide`, asking the knowledge about the message's words while ``read``
        (the NLU call; ``None``: the NLU could not be asked) is under way."""
        early = asyncio.create_task(gather_text(self.kb, message))
        try:
            parse = await read()
        except BaseException:
            early.cancel()
            raise
        return await self.decide(message, parse, context, sender_id=sender_id, early=await early)

    async def decide(
        self, message: str, parse: Parse | None, context: ConversationContext, *, sender_id: str = "patron",
        early: TextEvidence | None = None,
    ) -> Decision:
        """The reply to ``message``; ``parse`` is ``None`` when the NLU could not be asked."""
        reading = parse or Parse(text=message)
        context = _follow_language(context, reading, message)
        if reading.from_button:
            early = None  # a payload is not a question: no text evidence
        evidence = await gather(self.kb, reading, self.zone, early=early)
        if parse is None:
            own = own_question(reading, evidence, context)
            if own is not None:  # "hapus data saya", a comment: no NLU needed
                return await self._run(own, evidence, context, sender_id)
            if subscription_command(message) is None:
                return self._without_nlu(reading, evidence, context)
            # keywords need no NLU: "berhenti" works while the NLU is down
        chosen = route(reading, evidence, context)
        return await self._run(chosen, evidence, context, sender_id)

    async def _run(
        self, chosen: Route, evidence: Evidence, context: ConversationContext, sender_id: str
    ) -> Decision:
        ctx = ActionContext(kb=self.kb, zone=self.zone, evidence=evidence, subscriptions=self.subscriptions,
                            reminder_hour=self.reminder_hour)
        if chosen.action.startswith("utter_"):
            action: Action = ActionSmallTalk(chosen.action.removeprefix("utter_"))
        elif chosen.action == "action_handoff":
            action = ActionHandoff()
        elif chosen.action in OWN_QUESTIONS:
            action = OWN_QUESTIONS[chosen.action]()
        else:
            action = ACTION_TYPES[chosen.action](ctx)
        tracker = Tracker(sender_id, context.slots(), chosen.parse.as_rasa(), [], False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, tracker, {})
        slots = {e["name"]: e.get("value") for e in events if e.get("event") == "slot" and "name" in e}
        if context.awaiting and "awaiting" not in slots:
            slots.update(awaiting="", awaiting_ref=None)  # the patron moved on
        new_context = context.with_slots(slots)
        messages, handoff = _messages(dispatcher.messages, new_context.language)
        signals = _signals(dispatcher.messages)
        if not messages and handoff is None:
            # Never an empty reply: an action that said nothing is a bug, but the patron still
            # gets an honest answer.
            log.error("action %s said nothing to %r", chosen.action, chosen.parse.text[:80])
            messages = (MessageOut(t("fallback.rephrase", new_context.language)),)
        new_context = new_context.model_copy(update={"offered_title": _offered_title(messages)})
        explanation = {
            "intent": chosen.parse.intent,
            "nlu": {"intent": chosen.parse.intent, "ranking": [list(r) for r in chosen.parse.ranking[:3]]},
            "action": chosen.action,
            "reason": chosen.reason,
            "evidence": evidence.summary(),
        }
        log.debug("decision: %s because %s; evidence %s", chosen.action, chosen.reason, explanation["evidence"])
        turn = None if chosen.action in OWN_QUESTIONS else _outcome(chosen.action, signals, slots, context, handoff)
        return Decision(messages=messages, context=new_context, handoff=handoff, explanation=explanation,
                        turn=turn, feedback=_feedback(signals), erase=bool(signals.get("erase")))

    def _without_nlu(self, reading: Parse, evidence: Evidence, context: ConversationContext) -> Decision:
        """The NLU is down: answer what the knowledge is sure of, else the degraded reply."""
        lang = context.language
        explanation: dict[str, Any] = {"action": "degraded", "reason": "NLU unavailable", "evidence": evidence.summary()}
        if evidence.faq_confident:
            from actions.base import faq_answer

            item = evidence.faq[0].item
            explanation.update(action="faq", reason="NLU unavailable; the FAQ is sure")
            new = context.model_copy(update={"topic": "faq", "last_faq": item.id, "failed_turns": 0,
                                             "faq_query": reading.text[:300]})
            return Decision(messages=(MessageOut(faq_answer(item, lang)),), context=new, explanation=explanation,
                            turn=TurnOutcome("answered", "faq", faq_id=item.id))
        return Decision(messages=(MessageOut(t("degraded", lang)),), context=context, degraded=True,
                        explanation=explanation, turn=TurnOutcome("declined", "degraded"))


def _follow_language(context: ConversationContext, parse: Parse, message: str) -> ConversationContext:
    """The patron's language follows the NLU's ``language`` entity (a message without a clear
    signal, "ok" or "👍", keeps the previous one)."""
    lang = parse.entity("language")
    if lang is None and parse.intent is None and not parse.from_button:
        from nlu.language import detect_language

        lang = detect_language(message)
    if lang in ("id", "en") and lang != context.language:
        return context.model_copy(update={"language": lang})
    return context


def _signals(raw: list[dict[str, Any]]) -> dict[str, Any]:
    """The actions' signals (:mod:`actions.outcome`) merged, later ones winning."""
    merged: dict[str, Any] = {}
    for item in raw:
        custom = item.get("custom") or item.get("json_message")
        if isinstance(custom, dict) and isinstance(custom.get(SIGNAL_KEY), dict):
            merged.update(custom[SIGNAL_KEY])
    return merged


def _outcome(
    action: str, signals: dict[str, Any], slots: dict[str, Any], before: ConversationContext,
    handoff: HandoffRequest | None,
) -> TurnOutcome:
    """The kind of this turn: handed over, an action's own word, declined (out of scope), asked
    back (the failure counter went up: a choice or "could you rephrase"), else answered."""
    faq_id = str(slots["last_faq"]) if slots.get("last_faq") else None
    searched = str(signals["searched"])[:300] if signals.get("searched") else None
    found = bool(signals["found"]) if "found" in signals and searched else None
    if handoff is not None:
        kind = "handed_over"
    elif signals.get("kind") in ("answered", "asked_back", "declined"):
        kind = str(signals["kind"])
    elif slots.get("topic") == "out_of_scope":
        kind = "declined"
    elif "failed_turns" in slots and int(float(slots["failed_turns"] or 0)) > before.failed_turns:
        kind = "asked_back"
    else:
        kind = "answered"
    return TurnOutcome(kind, action, faq_id=faq_id if kind == "answered" else None, searched=searched, found=found)


def _feedback(signals: dict[str, Any]) -> FeedbackSignal | None:
    kind, ref = signals.get("feedback"), signals.get("ref")
    if kind not in ("answer", "rating") or not isinstance(ref, int):
        return None
    value = signals.get("value")
    return FeedbackSignal(str(kind), ref, value=value if isinstance(value, int) else None,
                          comment=str(signals["comment"]) if signals.get("comment") else None)


def _messages(raw: list[dict[str, Any]], lang: str) -> tuple[tuple[MessageOut, ...], HandoffRequest | None]:
    out: list[MessageOut] = []
    handoff = None
    for item in raw:
        custom = item.get("custom") or item.get("json_message")
        if isinstance(custom, dict) and SIGNAL_KEY in custom:
            continue
        if isinstance(custom, dict) and HANDOFF_KEY in custom:
            signal = custom[HANDOFF_KEY] if isinstance(custom[HANDOFF_KEY], dict) else {}
            handoff = HandoffRequest(reason=str(signal.get("reason") or "patron_request"),
                                     language=str(signal.get("language") or lang))
            continue
        buttons = tuple(
            ButtonOut(str(b.get("title", "")), str(b.get("payload", ""))) for b in item.get("buttons") or []
        )
        text = str(item.get("text") or "")
        if text or buttons or item.get("image"):
            out.append(MessageOut(text=text, buttons=buttons, image=item.get("image")))
    return tuple(out), handoff


def _offered_title(messages: tuple[MessageOut, ...]) -> str | None:
    """The title a reply offered to note as a purchase suggestion (its button), if any."""
    suggest = [b for m in messages for b in m.buttons if b.payload.startswith("/suggest_purchase{")]
    if len(suggest) != 1:
        return None
    parsed = Parse.from_payload(suggest[0].payload)
    return parsed.entity("title") if parsed else None


__all__ = ["AnswerEngine", "ButtonOut", "Decision", "FeedbackSignal", "HandoffRequest", "MessageOut", "TurnOutcome"]
