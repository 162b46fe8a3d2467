"""Gateway fixtures: a migrated throw-away database and settings pointing at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import upgrade_database
from bot.settings import Settings
from tests.conftest import TEST_API_KEY, free_port


@pytest.fixture
def dead_port() -> int:
    """A port nothing listens on (the NLU is "down")."""
    return free_port()


@pytest.fixture
def gateway_settings(tmp_path: Path, dead_port: int) -> Settings:
    """Settings with a migrated SQLite database; the NLU unreachable; lexical FAQ retrieval (the
    embedding model is tested in tests/knowledge)."""
    settings = Settings(
        data_dir=tmp_path,
        rasa_url=f"http://127.0.0.1:{dead_port}",
        rasa_timeout=3,
        embedding_model="",
        chat_api_keys=TEST_API_KEY,
    )
    upgrade_database(settings)
    return settings
