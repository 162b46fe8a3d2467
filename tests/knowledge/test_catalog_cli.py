"""The librarian's commands: catalog import / search / sync / status, events import, and `run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.settings import Settings

from .conftest import OaiServer


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"PUSTAKABOT_DATA_DIR": str(tmp_path), "PUSTAKABOT_DATABASE_URL": f"sqlite:///{tmp_path / 'kb.db'}"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    for key in ("PUSTAKABOT_OAI_URL", "PUSTAKABOT_SLIMS_DSN", "PUSTAKABOT_EVENTS_URL"):
        monkeypatch.delenv(key, raising=False)
    return values


def test_import_twice_then_search(env: dict[str, str], shared_data: Path) -> None:
    runner = CliRunner()
    path = str(shared_data / "marc" / "pymarc-test.dat")
    first = runner.invoke(main, ["catalog", "import", path])
    assert first.exit_code == 0, first.output
    assert "10 ditambah" in first.output
    second = runner.invoke(main, ["catalog", "import", path, "--format", "marc"])
    assert "0 ditambah, 0 diperbarui, 10 tidak berubah" in second.output
    found = runner.invoke(main, ["catalog", "search", "programing", "perl", "--json"])
    data = json.loads(found.output)
    assert data["hits"][0]["title"] == "Programming Perl"
    missing = runner.invoke(main, ["catalog", "search", "laskar", "pelangi"])
    assert "Belum ada di koleksi kami" in missing.output
    bad = runner.invoke(main, ["catalog", "import", str(shared_data / "marc" / "pymarc-bad_records.mrc")])
    assert bad.exit_code == 0 and "dilewati pymarc-bad_records.mrc#2" in bad.output


def test_sync_from_configured_oai_and_events(
    env: dict[str, str], oai_server: OaiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["catalog", "sync"]).exit_code != 0  # nothing configured
    monkeypatch.setenv("PUSTAKABOT_OAI_URL", oai_server.url)
    events = Path(__file__).resolve().parents[2] / "knowledge" / "demo" / "events.ics"
    monkeypatch.setenv("PUSTAKABOT_EVENTS_URL", str(events))
    result = runner.invoke(main, ["catalog", "sync"])
    assert result.exit_code == 0, result.output
    assert "oai:" in result.output and "ical:events.ics" in result.output
    status = runner.invoke(main, ["catalog", "status"])
    assert "✓ oai" in status.output and "2011-07-18T16:31:00Z" in status.output
    imported = runner.invoke(main, ["events", "import", str(events)])
    assert "0 ditambah" in imported.output


def test_run_adds_a_sync_child_only_when_a_source_is_configured() -> None:
    assert not Settings(oai_url="", events_url="").catalog_sync_configured
    assert Settings(oai_url="http://127.0.0.1:1/oai").catalog_sync_configured
    source = (Path(__file__).resolve().parents[2] / "bot" / "cli" / "serve.py").read_text()
    assert '"catalog", "sync", "--every"' in source
