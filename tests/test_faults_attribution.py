"""The fault benchmark's attribution of deliveries to updates (benchmarks/faults.py).

On a real migrated SQLite database, written as the gateway writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from benchmarks.faults import Sent, attribute
from bot.channel_models import OutboxItem
from bot.cli import upgrade_database
from bot.messages import Outgoing
from bot.models import Conversation, Message
from bot.render import outgoing_to_json
from bot.settings import Settings

CHAT = 7_000_000_001
HOLD = "Sebentar ya, Kak. Pesan Kakak sudah kami terima dan akan segera kami jawab."


@dataclass
class Deliveries:
    """What FakeTelegram records: sendMessage params and their times."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    sent_ids: list[int] = field(default_factory=list)

    def deliver(self, text: str, at: float) -> None:
        """Record one accepted sendMessage."""
        self.sent.append({"chat_id": CHAT, "text": text})
        self.sent_at.append(at)


def _database(tmp_path: Path) -> str:
    settings = Settings(data_dir=tmp_path)
    upgrade_database(settings)
    return settings.effective_database_url


def _write(url: str, turns: list[tuple[int | None, str, str]]) -> None:
    """``turns``: (update id or None for a hold notice, patron text, reply text), in order."""
    engine = create_engine(url)
    with Session(engine) as session:
        conv = Conversation(channel="telegram", external_id=str(CHAT))
        session.add(conv)
        session.flush()
        for uid, question, reply in turns:
            if uid is None:
                session.add(
                    OutboxItem(
                        conversation_id=conv.id,
                        channel="telegram",
                        external_id=str(CHAT),
                        author="system",
                        message=outgoing_to_json(Outgoing(text=reply)),
                        status="sent",
                    )
                )
                continue
            session.add(
                Message(
                    conversation_id=conv.id,
                    direction="in",
                    author="patron",
                    text=question,
                    platform_message_id=str(uid),
                )
            )
            session.add(Message(conversation_id=conv.id, direction="out", author="bot", text=reply))
            session.add(
                OutboxItem(
                    conversation_id=conv.id,
                    channel="telegram",
                    external_id=str(CHAT),
                    author="bot",
                    message=outgoing_to_json(Outgoing(text=reply)),
                    status="sent",
                )
            )
            session.flush()
        session.commit()
    engine.dispose()


def test_hold_notice_real_answers_and_a_resend_are_attributed(tmp_path: Path) -> None:
    """A hold notice belongs to the next real answer; a part delivered again counts as twice."""
    url = _database(tmp_path)
    _write(
        url,
        [
            (1, "halo", "Halo Kak!"),
            (None, "", HOLD),
            (2, "jam buka?", "Buka pukul 08.00."),
            (3, "ada ebook?", "Ada, Kak."),
        ],
    )
    fake = Deliveries()
    for at, text in enumerate(
        ["Halo Kak!", HOLD, "Buka pukul 08.00.", "Buka pukul 08.00.", "Ada, Kak."]
    ):
        fake.deliver(text, float(at))
    updates = {uid: Sent(CHAT, uid - 1, 0.0, 0.0) for uid in (1, 2, 3)}
    report = attribute(url, fake, updates, [CHAT])  # type: ignore[arg-type]
    assert report["answered"] == {1: 0.0, 2: 2.0, 3: 4.0}
    assert report["held"] == {2}
    assert report["twice"] == {2}
    assert report["resends"] == [(2.0, 3.0)]
    assert (
        report["order"] == report["unmatched"] == report["undelivered"] == report["degraded"] == 0
    )


def test_missing_and_out_of_order_answers_are_counted(tmp_path: Path) -> None:
    """Answers delivered against the chat's order, a degraded reply and a missing answer."""
    url = _database(tmp_path)
    _write(
        url,
        [
            (2, "jam buka?", "Buka pukul 08.00."),
            (1, "halo", "Halo Kak!"),
            (3, "ada ebook?", "Ada, Kak."),
        ],
    )
    fake = Deliveries()
    fake.deliver("Buka pukul 08.00.", 1.0)
    fake.deliver("Halo Kak!", 2.0)
    fake.deliver("Maaf, layanan chat kami sedang gangguan.", 3.0)
    updates = {uid: Sent(CHAT, uid - 1, 0.0, 0.0) for uid in (1, 2, 3)}
    report = attribute(url, fake, updates, [CHAT])  # type: ignore[arg-type]
    assert set(report["answered"]) == {1, 2}  # 3 never answered
    assert report["order"] == 1  # update 1's answer came after update 2's
    assert report["degraded"] == 1 and report["unmatched"] == 1 and report["undelivered"] == 1
    assert not report["twice"]


def test_a_reply_recorded_twice_in_the_transcript_does_not_shift_the_pairing(
    tmp_path: Path,
) -> None:
    """A turn retried after a crash wrote its bot reply twice; later replies keep their owners."""
    url = _database(tmp_path)
    _write(url, [(1, "halo", "Halo Kak!")])
    engine = create_engine(url)
    with Session(engine) as session:
        session.add(Message(conversation_id=1, direction="out", author="bot", text="Halo Kak!"))
        session.commit()
    engine.dispose()
    _write_more(url, [(2, "jam buka?", "Buka pukul 08.00.")])
    fake = Deliveries()
    fake.deliver("Halo Kak!", 1.0)
    fake.deliver("Buka pukul 08.00.", 2.0)
    updates = {uid: Sent(CHAT, uid - 1, 0.0, 0.0) for uid in (1, 2)}
    report = attribute(url, fake, updates, [CHAT])  # type: ignore[arg-type]
    assert report["answered"] == {1: 1.0, 2: 2.0}
    assert report["reply_dups"] == 1 and not report["twice"] and not report["unpaired"]


def _write_more(url: str, turns: list[tuple[int, str, str]]) -> None:
    engine = create_engine(url)
    with Session(engine) as session:
        for uid, question, reply in turns:
            for direction, author, text in (("in", "patron", question), ("out", "bot", reply)):
                session.add(
                    Message(
                        conversation_id=1,
                        direction=direction,
                        author=author,
                        text=text,
                        platform_message_id=str(uid) if direction == "in" else None,
                    )
                )
                session.flush()
            session.add(
                OutboxItem(
                    conversation_id=1,
                    channel="telegram",
                    external_id=str(CHAT),
                    author="bot",
                    message=outgoing_to_json(Outgoing(text=reply)),
                    status="sent",
                )
            )
        session.commit()
    engine.dispose()


def test_a_resend_counts_as_recorded_only_when_the_first_copy_was_recorded(tmp_path: Path) -> None:
    """The crash window (first copy never recorded) is told apart from a recorded reply sent again."""
    url = _database(tmp_path)
    _write(url, [(1, "halo", "Halo Kak!"), (2, "jam buka?", "Buka pukul 08.00.")])
    engine = create_engine(url)
    with Session(engine) as session:
        first, second = session.query(OutboxItem).order_by(OutboxItem.id).all()
        first.platform_ids = ["11"]  # its first copy's id: recorded, then sent again (a bug)
        second.platform_ids = ["14"]  # only the re-sent copy's id: the first was in the crash window
        session.commit()
    engine.dispose()
    fake = Deliveries()
    for at, (text, message_id) in enumerate(
        [("Halo Kak!", 11), ("Halo Kak!", 12), ("Buka pukul 08.00.", 13), ("Buka pukul 08.00.", 14)]
    ):
        fake.deliver(text, float(at))
        fake.sent_ids.append(message_id)
    updates = {uid: Sent(CHAT, uid - 1, 0.0, 0.0) for uid in (1, 2)}
    report = attribute(url, fake, updates, [CHAT])  # type: ignore[arg-type]
    assert report["twice"] == {1, 2}
    assert report["twice_recorded"] == {1}
