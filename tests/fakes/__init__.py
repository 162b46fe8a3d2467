"""Local fakes of third-party servers (Telegram Bot API, Meta Graph API) in their real wire format."""

from __future__ import annotations

from tests.fakes.graph import FakeGraph
from tests.fakes.telegram import FakeTelegram

__all__ = ["FakeGraph", "FakeTelegram"]
