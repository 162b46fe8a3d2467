"""All 83 third-party webhook bodies (../shared/data/webhooks/, see its SOURCES.md) replayed
against the real gateway: each file's bytes unchanged, signed as its platform signs them.

Each file runs on an emptied database (the sources reuse dedupe keys, SOURCES.md "Dedupe
keys"), with the NLU down: a text the bot takes gets the knowledge's answer or one "sebentar ya", which is enough
to prove the text reached the bot. Every body must be acknowledged with 200, and every file's
outcome is named below: answered, the text-only reply, queued for the console (with the
reason), or not answered for a named reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from bot.app import create_app
from bot.channel_models import PENDING, InboxItem, OutboxItem, TelegramCallback
from bot.handoff_models import AuditEntry, Claim, Handoff, Note, WebchatCursor
from bot.keys import sessions_key
from bot.models import Conversation, Message
from tests.bot.channels.conftest import APP_SECRET, TG_SECRET, TOKEN, channel_settings
from tests.fakes import FakeGraph, FakeTelegram

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "webhooks"
OUR_APP_ID = "100000000000001"  # not the app id of any echo in the corpus: they come from another app

ANSWERED = "answered"  # the bot got the text: the NLU is down in this test, so the answer is the
# knowledge's own (a FAQ it is sure of) or the one "sebentar ya" notice while the message waits
TEXT_ONLY = "text-only reply"
#: file -> expected outcome; "console:<reason>" = queued for a librarian, "ignored: <why>" = no turn
EXPECTED: dict[str, str] = {
    # --- Telegram ---
    "tg-aiogram2-channel-post.json": "ignored: channel post",
    "tg-aiogram2-photo-caption.json": ANSWERED,  # old photo shape, caption kept
    "tg-aiogram2-update-hi-world.json": ANSWERED,
    "tg-aiogram3-raw-update.json": ANSWERED,
    "tg-chatwoot-business-message.json": "ignored: Telegram Business message",
    "tg-chatwoot-callback-query.json": ANSWERED,
    "tg-chatwoot-caption-only.json": ANSWERED,
    "tg-chatwoot-contact-phone-only.json": TEXT_ONLY,
    "tg-chatwoot-group-text.json": "ignored: group chat",
    "tg-chatwoot-location-venue.json": TEXT_ONLY,
    "tg-chatwoot-location.json": TEXT_ONLY,
    "tg-chatwoot-photo.json": TEXT_ONLY,
    "tg-chatwoot-private-text.json": ANSWERED,
    "tg-chatwoot-sticker.json": TEXT_ONLY,
    "tg-ptba-entities-bbb.json": ANSWERED,
    "tg-ptba-entities-nested.json": ANSWERED,
    "tg-ptba-forwarded-emoji.json": ANSWERED,
    "tg-ptba-html-lookalike-dup-id.json": ANSWERED,
    "tg-ptba-private-bot-sender.json": ANSWERED,
    "tg-ptba-quote-reply.json": ANSWERED,
    "tg-rasa-edited-message.json": "ignored: edited message (the original was answered)",
    "tg-tbots-callback-keyboard.json": ANSWERED,
    "tg-tbots-kitchen-sink.json": ANSWERED,
    "tg-tbots-write-access-allowed.json": "ignored: service message without text",
    "tg-teloxide-malformed-message.json": "ignored: message without a chat",
    "tg-teloxide-my-chat-member-kicked.json": "ignored: membership change",
    "tg-teloxide-poll-answer.json": "ignored: poll answer",
    "tg-teloxide-private-digit.json": ANSWERED,
    "tg-teloxide-private-text.json": ANSWERED,
    "tg-teloxide-reaction-anon-cyrillic.json": "ignored: reaction",
    "tg-teloxide-reaction-count-channel.json": "ignored: reaction count in a channel",
    "tg-teloxide-reaction-user.json": "ignored: reaction",
    "tg-teloxide-supergroup-command-reply.json": "ignored: group chat",
    "tg-teloxide-supergroup-dice.json": "ignored: group chat",
    "tg-teloxide-supergroup-pinned.json": "ignored: group chat",
    "tg-teloxide-supergroup-story.json": "ignored: group chat",
    "tg-teloxide-unknown-field.json": "ignored: update of an unknown kind",
    "tg-teloxide-unknown-kind.json": "ignored: update of an unknown kind",
    # --- Messenger ---
    "page-bottender-batch-two-entries.json": ANSWERED,
    "page-bottender-chat-plugin-text.json": ANSWERED,
    "page-bottender-fallback.json": TEXT_ONLY,
    "page-bottender-image.json": TEXT_ONLY,
    "page-bottender-like-sticker.json": TEXT_ONLY,
    "page-bottender-location.json": TEXT_ONLY,
    "page-bottender-standby-placeholders.json": "ignored: standby (another app owns the thread)",
    "page-bottender-webhook-test-changes.json": "ignored: dashboard test event (changes)",
    "page-fbmq-account-linking.json": "ignored: account linking",
    "page-fbmq-app-roles.json": "ignored: app roles (no sender)",
    "page-fbmq-delivery.json": "ignored: delivery receipt",
    "page-fbmq-echo.json": "console:platform_inbox",
    "page-fbmq-object-not-a-page.json": "ignored: object is not page/instagram",
    "page-fbmq-pass-thread-control.json": "ignored: thread passed to another app",
    "page-fbmq-policy-enforcement.json": "ignored: policy enforcement (no sender)",
    "page-fbmq-postback-referral.json": ANSWERED,
    "page-fbmq-postback.json": ANSWERED,
    "page-fbmq-quick-reply.json": ANSWERED,
    "page-fbmq-read.json": "ignored: read receipt",
    "page-fbmq-referral.json": "ignored: referral without a message",
    "page-fbmq-request-thread-control.json": "ignored: request_thread_control (we keep the thread)",
    "page-fbmq-standby-postback-no-payload.json": "ignored: standby (another app owns the thread)",
    "page-fbmq-take-thread-control.json": "console:handover",
    "page-fbmq-text.json": ANSWERED,
    "page-fbmq-unknown-event.json": "ignored: unknown event",
    "page-jgorset-entry-without-messaging.json": "ignored: entry without messaging",
    "page-jgorset-message-request.json": "ignored: message request",
    "page-jgorset-reaction.json": "ignored: reaction",
    "page-jgorset-text-quickreply-attachment-nlp.json": ANSWERED,
    "page-jgorset-text.json": ANSWERED,
    # --- Instagram ---
    "ig-chatwoot-deleted.json": "ignored: unsent message",
    "ig-chatwoot-ig-post-share.json": TEXT_ONLY,
    "ig-chatwoot-ig-story-attachment.json": "console:story",
    "ig-chatwoot-reply-to-mid.json": ANSWERED,
    "ig-chatwoot-seen.json": "ignored: read receipt",
    "ig-chatwoot-share-attachment.json": TEXT_ONLY,
    "ig-chatwoot-shared-reel.json": TEXT_ONLY,
    "ig-chatwoot-standby.json": "ignored: standby (another app owns the thread)",
    "ig-chatwoot-story-mention-echo.json": "console:platform_inbox",
    "ig-chatwoot-story-mention.json": "console:story",
    "ig-chatwoot-story-reply.json": "console:story",
    "ig-chatwoot-test-event-changes.json": "ignored: dashboard test event (changes)",
    "ig-chatwoot-test-text-numeric-ts.json": ANSWERED,
    "ig-chatwoot-text.json": ANSWERED,
    "ig-chatwoot-unsupported.json": "ignored: unsupported message",
}
TABLES = (OutboxItem, InboxItem, TelegramCallback, Note, Claim, WebchatCursor, AuditEntry, Handoff, Message, Conversation)


def _files() -> list[Path]:
    return sorted((DATA / "telegram").glob("*.json")) + sorted((DATA / "meta").glob("*.json"))


pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} not present")


async def _settled(app) -> None:  # noqa: ANN001
    """Wait until the inbox has nothing left to decide (done, or waiting for the NLU with the
    patron told so) and the outbox nothing pending."""
    async with asyncio.timeout(20):
        while True:
            async with app[sessions_key]() as session:
                pending = list(await session.scalars(select(InboxItem).where(InboxItem.status == PENDING).order_by(InboxItem.id)))
                outbox = await session.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.status == PENDING))
            first = {}
            for item in pending:  # a conversation's later messages wait behind its first, in order
                first.setdefault((item.channel, item.external_id), item)
            if not outbox and all(item.data.get("held") for item in first.values()):
                return
            await asyncio.sleep(0.02)


async def _outcome(app) -> str:  # noqa: ANN001
    async with app[sessions_key]() as session:
        inbox = int(await session.scalar(select(func.count()).select_from(InboxItem)) or 0)
        replies = list(await session.scalars(select(OutboxItem)))
        handoffs = list(await session.scalars(select(Handoff)))
    if inbox == 0:
        return "ignored"
    if handoffs:
        return "console:" + ",".join(sorted({h.reason for h in handoffs}))
    texts = " ".join(str(r.message.get("text", "")) for r in replies)
    if "hanya bisa membaca pesan teks" in texts or "only read text" in texts:
        return TEXT_ONLY
    if texts.strip():
        return ANSWERED
    return f"no reply ({inbox} inbox items, {len(replies)} replies)"


async def test_every_peer_body_is_acknowledged_and_its_outcome_named(
    tmp_path: Path, dead_port: int, aiohttp_client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.channels")
    files = _files()
    assert len(files) == 83 and {f.name for f in files} == set(EXPECTED)
    async with FakeTelegram(token=TOKEN) as telegram, FakeGraph() as graph:
        settings = channel_settings(
            tmp_path, dead_port, telegram_token=TOKEN, telegram_webhook_secret=TG_SECRET,
            telegram_api_base_url=telegram.base_url, meta_app_secret=APP_SECRET, meta_verify_token="v",
            meta_page_token="PAGE-TOKEN", graph_api_base_url=graph.base_url, meta_app_id=OUR_APP_ID,
            hold_notice_seconds=0,
        )
        app = create_app(settings)
        client = await aiohttp_client(app)
        got: dict[str, str] = {}
        for path in files:
            async with app[sessions_key].begin() as session:
                for table in TABLES:
                    await session.execute(delete(table))
            raw = path.read_bytes()
            caplog.clear()
            if path.parent.name == "telegram":
                headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
                response = await client.post("/webhooks/telegram", data=raw, headers=headers)
            else:
                signature = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
                headers = {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}
                response = await client.post("/webhooks/meta", data=raw, headers=headers)
            assert response.status == 200, (path.name, response.status, await response.text())
            await _settled(app)
            outcome = await _outcome(app)
            expected = EXPECTED[path.name]
            skips = [r for r in caplog.records if r.name.startswith("bot.channels") and "ignor" in r.getMessage()]
            if outcome == "ignored" and expected.startswith("ignored"):
                assert skips, f"{path.name}: not answered, but no log line says why"
                outcome = expected
            got[path.name] = outcome
        wrong = {name: (got[name], EXPECTED[name]) for name in got if got[name] != EXPECTED[name]}
        assert not wrong, "\n".join(f"{n}: got {g!r}, expected {e!r}" for n, (g, e) in sorted(wrong.items()))
        # Telegram answers really went out through the Bot API (its fake): text and text-only replies.
        assert any("hanya bisa membaca pesan teks" in m["text"] for m in telegram.sent)
        assert sum("Sebentar ya" in m["text"] or "One moment" in m["text"] for m in telegram.sent) >= 5
