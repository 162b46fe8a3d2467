"""Local fakes of third-party servers (Telegram Bot API, Meta Graph API, WhatsApp Cloud API) in their real wire format."""

from __future__ import annotations

from tests.fakes.graph import FakeGraph
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whatsapp import FakeWhatsApp

__all__ = ["FakeGraph", "FakeTelegram", "FakeWhatsApp"]
