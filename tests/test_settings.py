"""Settings as data: every setting has a description and a row in the README."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_described_and_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"
        assert f"`PUSTAKABOT_{name.upper()}`" in readme, f"PUSTAKABOT_{name.upper()} missing from README"


def test_settings_come_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PUSTAKABOT_PORT", "9090")
    monkeypatch.setenv("PUSTAKABOT_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.port == 9090
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'pustakabot.db'}"
    monkeypatch.setenv("PUSTAKABOT_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    assert Settings().effective_database_url == "postgresql://postgres@127.0.0.1/test"
