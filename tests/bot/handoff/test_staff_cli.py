"""``pustakabot staff`` manages accounts: argon2 hashes, roles, disable, reset-password."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.handoff_models import Staff
from bot.settings import Settings
from bot.staff import authenticate
from knowledge.db import make_async_engine


async def _check(settings: Settings, username: str, password: str) -> bool:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    engine = make_async_engine(settings.effective_database_url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            stored = await session.scalar(select(Staff.password_hash).where(Staff.username == username))
            assert stored is None or stored.startswith("$argon2id$")
            return await authenticate(session, username, password) is not None
    finally:
        await engine.dispose()


def test_staff_add_disable_reset_password(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PUSTAKABOT_DATA_DIR", str(tmp_path))
    settings = Settings()
    runner = CliRunner()
    added = runner.invoke(
        main, ["staff", "add", "rina", "--name", "Rina Pustakawan", "--role", "admin"],
        input="kata-sandi-panjang\nkata-sandi-panjang\n",
    )
    assert added.exit_code == 0, added.output
    assert "rina (admin) dibuat" in added.output and "kata-sandi-panjang" not in added.output
    assert asyncio.run(_check(settings, "rina", "kata-sandi-panjang"))

    short = runner.invoke(main, ["staff", "add", "budi", "--password", "pendek"])
    assert short.exit_code != 0 and "minimal 10 karakter" in short.output
    twice = runner.invoke(main, ["staff", "add", "rina", "--password", "kata-sandi-lain-1"])
    assert twice.exit_code != 0 and "sudah dipakai" in twice.output

    reset = runner.invoke(main, ["staff", "reset-password", "rina", "--password", "sandi-baru-sekali"])
    assert reset.exit_code == 0, reset.output
    assert not asyncio.run(_check(settings, "rina", "kata-sandi-panjang"))
    assert asyncio.run(_check(settings, "rina", "sandi-baru-sekali"))

    disabled = runner.invoke(main, ["staff", "disable", "rina"])
    assert disabled.exit_code == 0 and "dinonaktifkan" in disabled.output
    assert not asyncio.run(_check(settings, "rina", "sandi-baru-sekali"))
    listed = runner.invoke(main, ["staff", "list"])
    assert "rina" in listed.output and "nonaktif" in listed.output
    missing = runner.invoke(main, ["staff", "disable", "siapa"])
    assert missing.exit_code != 0 and "tidak ditemukan" in missing.output
