"""Routes a patron's message: record it, ask the NLU and the answer engine (or hold it for a
librarian), record the answer and the conversation's new context.

Every channel (web chat, Telegram, Messenger, Instagram) goes through :meth:`Router.handle`, so
all share the same transcript, the same handoff states and the same degraded-mode reply.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import datetime, timezone
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.context import ConversationContext
from actions.engine import AnswerEngine, Decision, TurnOutcome
from actions.understanding import Parse
from actions.rules import detect_trigger, is_question
from actions.subscriptions import SubscriptionStore, subscription_command, unsubscribe_reply
from bot.handoff import HandoffService
from bot.feedback import FeedbackPolicy, record_turn, store_feedback, with_votes
from bot.handoff import text as handoff_text
from bot.messages import Button, Incoming, Outgoing, Reply
from bot.metrics import Metrics
from bot.models import Conversation, ConversationState, Message
from bot.nlu import NluClient, NluUnavailable
from bot.privacy import PrivacyNotice, erase_patron
from bot.render import outgoing_from_json
from bot.replicas.locks import ConversationLocks, LocalLocks
from bot.replicas.wiring import conversation_key
from nlu.language import language_of

log = logging.getLogger(__name__)


class AnswerDeferred(Exception):
    """The answer could not be computed now (the NLU is down and the knowledge alone is not
    sure); the message stays pending and is answered for real when the NLU is back."""


class Router:
    """Handles incoming messages one conversation at a time, different conversations in parallel."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        nlu: NluClient,
        engine: AnswerEngine,
        *,
        handoff: HandoffService | None = None,
        debug: bool = False,
        feedback: FeedbackPolicy | None = None,
        privacy: PrivacyNotice | None = None,
        subscriptions: SubscriptionStore | None = None,
        locks: ConversationLocks | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessions = sessions
        self.subscriptions = subscriptions
        self.nlu = nlu
        self.engine = engine
        self.handoff = handoff
        self.debug = debug
        self.feedback = feedback or FeedbackPolicy()
        self.privacy = privacy or PrivacyNotice()
        #: one turn per conversation at a time, across replicas on PostgreSQL (bot/replicas/locks.py)
        self.locks = locks or LocalLocks()
        self.metrics = metrics or Metrics()

    async def conversation(self, session: AsyncSession, msg: Incoming) -> Conversation:
        """The conversation of ``msg`` (created on first contact)."""
        conv = await session.scalar(
            select(Conversation).where(
                Conversation.channel == msg.channel, Conversation.external_id == msg.conversation_id
            )
        )
        if conv is None:
            conv = Conversation(channel=msg.channel, external_id=msg.conversation_id, patron_name=msg.patron_name)
            session.add(conv)
            await session.flush()
        return conv

    async def handle(self, msg: Incoming, *, defer: bool = False) -> Reply:
        """Answer ``msg``; messages of one conversation are answered in the order received.

        ``defer`` (the inbox's channels): when the answer cannot be computed now, raise
        :class:`AnswerDeferred` instead of replying with the degraded apology; the patron's
        message is recorded once however often it is retried.
        """
        async with self.locks.hold(conversation_key(msg.channel, msg.conversation_id)):
            return await self._handle(msg, defer=defer)

    async def _handle(self, msg: Incoming, *, defer: bool = False) -> Reply:
        async with self.sessions.begin() as session:
            conv = await self.conversation(session, msg)
            # A patron who wrote before has a transcript: no statement to ask it.
            wrote_before = conv.last_inbound_at is not None
            conv.last_inbound_at = msg.timestamp or datetime.now(timezone.utc)
            if msg.patron_name and not conv.patron_name:
                conv.patron_name = msg.patron_name
            earlier = await _recorded(session, conv.id, msg)
            first_contact = earlier is None and not wrote_before and not await _has_messages(session, conv.id)
            inbound_id = earlier
            if earlier is not None:
                answered = await _answered(session, conv.id, earlier)
                if answered:
                    # The turn was computed before a crash (transcript written, inbox not yet
                    # marked done): the same reply goes out, nothing is written twice.
                    return Reply(messages=answered, handoff=conv.state is not ConversationState.BOT)
            else:
                self.metrics.messages_in.labels(msg.channel).inc()
                inbound = Message(
                    conversation_id=conv.id,
                    direction="in",
                    author="patron",
                    text=msg.text,
                    payload={"payload": msg.payload} if msg.payload else None,
                    platform_message_id=msg.platform_message_id,
                )
                session.add(inbound)
                await session.flush()
                inbound_id = inbound.id
            sender = conv.sender_key
            state = conv.state
            conv_id = conv.id
            context = ConversationContext.load(conv.context)
        if state is not ConversationState.BOT and self.subscriptions is not None and not msg.payload:
            command = subscription_command(msg.text)
            if command is not None and command.op == "unsubscribe":
                # "berhenti"/"stop" opts out everywhere, also while waiting for a librarian; the
                # patron stays in the queue ("batal" is the word that leaves it, see rules.py).
                text = await unsubscribe_reply(self.subscriptions, sender, msg.text, None, context.language)
                out = [Outgoing(text=text)]
                await self._record(conv_id, out, author="system")
                return Reply(messages=out, handoff=True)
        if state is not ConversationState.BOT:
            # A librarian has (or will have) this conversation: the engine does not answer.
            if self.handoff is None:
                return Reply(messages=[], handoff=True)
            held = await self.handoff.on_patron_message(conv_id, msg.text)
            await self._record(conv_id, held.messages, author="system")
            if held.handoff and state is ConversationState.WAITING and not msg.payload and is_question(msg.text):
                # No librarian has it yet (often: outside staffed hours): what the knowledge
                # answers still gets answered, with a line that the request stands.
                meanwhile = await self._answer_while_waiting(conv_id, msg, context, sender)
                if meanwhile is not None:
                    return meanwhile
            return held
        trigger = detect_trigger(msg.text) if self.handoff is not None and not msg.payload else None
        if trigger is not None:
            # Complaints and explicit requests for a person skip the NLU entirely.
            async with self.sessions.begin() as session:
                await record_turn(session, conv_id, msg.channel, inbound_id, TurnOutcome("handed_over", "trigger"))
            self.metrics.decided(action="action_handoff", handoff=True, degraded=False)
            return await self._start_handoff(conv_id, reason=trigger, language=_language(msg.text))
        payload = Parse.from_payload(msg.payload) if msg.payload else None
        # When the NLU answered (the knowledge's stage is timed from there; a button needs no NLU).
        read_at: list[float] = [] if payload is None else [time.perf_counter()]
        if payload is not None:
            decision = await self.engine.decide(msg.for_nlu, payload, context, sender_id=sender)
        else:
            decision = await self.engine.answer(msg.for_nlu, self._reader(msg, read_at), context, sender_id=sender)
        if read_at:
            self.metrics.stage.labels("knowledge").observe(time.perf_counter() - read_at[-1])
        if decision.degraded and defer:
            raise AnswerDeferred("NLU unavailable")
        self.metrics.decided(action=str(decision.explanation.get("action", "")), handoff=decision.handoff is not None,
                             degraded=decision.degraded)
        reply = _reply(decision, debug=self.debug)
        if decision.erase:
            return await self._erase(msg, reply)
        await self._record_turn(conv_id, msg, inbound_id, decision, reply, first_contact=first_contact)
        if decision.handoff is not None:
            if self.handoff is None:
                async with self.sessions.begin() as session:
                    conv = await session.get(Conversation, conv_id)
                    if conv is not None:
                        conv.state = ConversationState.WAITING
            else:
                extra = await self.handoff.start(
                    conv_id, reason=decision.handoff.reason, language=decision.handoff.language
                )
                await self._record(conv_id, extra, author="system")
                reply.messages.extend(extra)
        return reply

    def _reader(self, msg: Incoming, done_at: list[float] | None = None) -> Callable[[], Awaitable[Parse | None]]:
        """The NLU's reading of ``msg`` (None when the NLU is down: the knowledge alone answers);
        ``done_at`` gets the moment it answered."""

        async def read() -> Parse | None:
            try:
                with self.metrics.timed("nlu"):
                    return await self.nlu.parse(msg.for_nlu)
            except NluUnavailable as exc:
                log.warning("NLU unavailable (%s); answering %s from the knowledge alone", exc.reason, msg.channel)
                return None
            finally:
                if done_at is not None:
                    done_at.append(time.perf_counter())

        return read

    async def _answer_while_waiting(
        self, conv_id: int, msg: Incoming, context: ConversationContext, sender: str
    ) -> Reply | None:
        """The engine's answer to a message sent while waiting for a librarian, when it is one
        from the knowledge (a FAQ answer, a catalog search, events, e-books); None otherwise
        (small talk, an unclear message, a second request for a person: the librarian reads it)."""
        decision = await self.engine.answer(msg.for_nlu, self._reader(msg), context, sender_id=sender)
        action = decision.explanation.get("action")
        if (decision.degraded or decision.handoff is not None or action not in _KNOWLEDGE_ACTIONS
                or decision.context.failed_turns > 0):
            return None
        reply = _reply(decision, debug=self.debug)
        reply.messages.append(Outgoing(text=handoff_text("still_waiting", decision.context.language)))
        reply.handoff = True
        await self._record(conv_id, reply.messages, author="bot", context=decision.context)
        return reply

    async def _record_turn(
        self, conv_id: int, msg: Incoming, inbound_id: int | None, decision: Decision, reply: Reply,
        *, first_contact: bool,
    ) -> None:
        """Store the turn's kind, the patron's feedback, the reply and the conversation's new
        context in one transaction (a turn retried after a crash finds all of it or none); add the
        👍 / 👎 buttons and, on first contact, the privacy notice (a last paragraph) to ``reply``."""
        async with self.sessions.begin() as session:
            if decision.turn is not None:
                turn_id = await record_turn(session, conv_id, msg.channel, inbound_id, decision.turn)
                if self.feedback.wants(decision.turn):
                    reply.messages[:] = with_votes(reply.messages, turn_id)
            if decision.feedback is not None:
                await store_feedback(session, conv_id, decision.feedback)
            if first_contact:
                notice = self.privacy.message(decision.context.language)
                if notice is not None and reply.messages:
                    # A last paragraph of the first message (the answer itself, before any
                    # "Pertanyaan terkait"): no extra message (Telegram paces 1/s per chat).
                    first = reply.messages[0]
                    reply.messages[0] = replace(first, text=f"{first.text}\n\n{notice.text}".strip())
                elif notice is not None:
                    reply.messages.append(notice)
            await _add_messages(session, conv_id, reply.messages, author="system" if decision.degraded else "bot",
                                context=decision.context)

    async def _erase(self, msg: Incoming, reply: Reply) -> Reply:
        """A confirmed "hapus data saya": delete the patron's data; the confirmation goes out
        through a fresh, empty conversation (the channel needs one to send) and is not recorded."""
        async with self.sessions.begin() as session:
            counts = await erase_patron(session, msg.channel, msg.conversation_id)
            session.add(Conversation(channel=msg.channel, external_id=msg.conversation_id))
        log.info("patron data erased on %s: %s", msg.channel, {k: v for k, v in counts.items() if v})
        return reply

    async def _start_handoff(self, conv_id: int, *, reason: str, language: str) -> Reply:
        assert self.handoff is not None
        key = "start.complaint" if reason == "complaint" else "start.request"
        messages = [Outgoing(text=handoff_text(key, language))]
        messages += await self.handoff.start(conv_id, reason=reason, language=language)
        await self._record(conv_id, messages, author="system")
        return Reply(messages=messages, handoff=True)

    async def _record(
        self, conv_id: int, messages: list[Outgoing], *, author: str, context: ConversationContext | None = None
    ) -> None:
        async with self.sessions.begin() as session:
            await _add_messages(session, conv_id, messages, author=author, context=context)


async def _add_messages(
    session: AsyncSession, conv_id: int, messages: list[Outgoing], *, author: str,
    context: ConversationContext | None = None,
) -> None:
    """Add ``messages`` to the transcript (and store the conversation's new ``context``)."""
    if context is not None:
        await session.execute(update(Conversation).where(Conversation.id == conv_id).values(context=context.dump()))
    if messages:
        # One executemany statement (no ORM unit of work: nothing reads these rows back here).
        await session.execute(insert(Message), [
            {"conversation_id": conv_id, "direction": "out", "author": author, "text": out.text,
             "payload": out.as_json() if out.rich else None}
            for out in messages
        ])


async def _recorded(session: AsyncSession, conv_id: int, msg: Incoming) -> int | None:
    """The transcript id of this platform message when it is already there (a retried turn)."""
    if not msg.platform_message_id:
        return None
    return await session.scalar(
        select(Message.id).where(
            Message.conversation_id == conv_id, Message.direction == "in",
            Message.platform_message_id == msg.platform_message_id,
        ).limit(1)
    )


async def _answered(session: AsyncSession, conv_id: int, inbound_id: int) -> list[Outgoing]:
    """The replies already recorded for the patron message ``inbound_id`` (up to the next one)."""
    rows = (await session.scalars(
        select(Message).where(Message.conversation_id == conv_id, Message.id > inbound_id).order_by(Message.id).limit(20)
    )).all()
    out: list[Outgoing] = []
    for row in rows:
        if row.direction == "in":
            break
        if row.author in ("bot", "system"):
            out.append(outgoing_from_json(row.payload) if row.payload and "text" in row.payload else Outgoing(text=row.text))
    return out


# Actions whose reply comes from the library's knowledge (answered while a patron waits).
_KNOWLEDGE_ACTIONS = frozenset({"faq", "action_answer_faq", "action_search_catalog", "action_list_events", "action_list_ebooks"})


async def _has_messages(session: AsyncSession, conv_id: int) -> bool:
    """Whether the conversation has a transcript yet (none: the patron's first contact)."""
    return await session.scalar(select(Message.id).where(Message.conversation_id == conv_id).limit(1)) is not None


def _language(text: str) -> str:
    return language_of(text)


def _reply(decision: Decision, *, debug: bool) -> Reply:
    """The engine's decision as the gateway's channel-neutral reply."""
    messages = [
        Outgoing(text=m.text, buttons=tuple(Button(b.title, b.payload) for b in m.buttons), image=m.image)
        for m in decision.messages
    ]
    return Reply(
        messages=messages,
        handoff=decision.handoff is not None,
        degraded=decision.degraded,
        debug=decision.explanation if debug else None,
    )
