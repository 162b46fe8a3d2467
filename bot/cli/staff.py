"""Staff console accounts: the `staff` group."""

from __future__ import annotations

import asyncio

import click

from bot.cli import load_settings, main, upgrade_database


@main.group()
def staff() -> None:
    """Staff console accounts (librarians: role agent; supervisors: role admin)."""


def _staff_run(operation: str, **kwargs: object) -> str:
    """Run one account operation against the configured database; returns a summary line."""
    from bot import staff as accounts
    from knowledge.db import make_async_engine

    settings = load_settings()
    upgrade_database(settings)

    async def go() -> str:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        engine = make_async_engine(settings.effective_database_url)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False).begin() as session:
                if operation == "add":
                    member = await accounts.add_staff(session, **kwargs)  # type: ignore[arg-type]
                    return f"Akun {member.username} ({member.role}) dibuat."
                if operation == "disable":
                    member = await accounts.set_active(session, str(kwargs["username"]), False)
                    return f"Akun {member.username} dinonaktifkan; semua sesinya diakhiri."
                if operation == "enable":
                    member = await accounts.set_active(session, str(kwargs["username"]), True)
                    return f"Akun {member.username} diaktifkan kembali."
                if operation == "reset":
                    member = await accounts.reset_password(
                        session, str(kwargs["username"]), str(kwargs["password"])
                    )
                    return f"Kata sandi {member.username} diganti; semua sesinya diakhiri."
                rows = await accounts.list_staff(session)
                return "\n".join(
                    f"{m.username:20} {m.role:6} {'aktif' if m.active else 'nonaktif':9} {m.display_name}" for m in rows
                ) or "Belum ada akun."
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except accounts.StaffError as exc:
        raise click.ClickException(exc.message) from exc


_password_option = click.option(
    "--password", prompt="Kata sandi", hide_input=True, confirmation_prompt="Ulangi kata sandi",
    help="Leave out to be asked (hidden). At least 10 characters.",
)


@staff.command("add")
@click.argument("username")
@click.option("--name", "display_name", default="", help="Name shown to colleagues and patrons.")
@click.option("--role", type=click.Choice(["agent", "admin"]), default="agent", show_default=True)
@_password_option
def staff_add(username: str, display_name: str, role: str, password: str) -> None:
    """Create a console account."""
    click.echo(_staff_run("add", username=username, display_name=display_name or username,
                          password=password, role=role))


@staff.command("disable")
@click.argument("username")
def staff_disable(username: str) -> None:
    """Disable an account and end its sessions."""
    click.echo(_staff_run("disable", username=username))


@staff.command("enable")
@click.argument("username")
def staff_enable(username: str) -> None:
    """Enable a disabled account again."""
    click.echo(_staff_run("enable", username=username))


@staff.command("reset-password")
@click.argument("username")
@_password_option
def staff_reset_password(username: str, password: str) -> None:
    """Set a new password (ends the account's sessions)."""
    click.echo(_staff_run("reset", username=username, password=password))


@staff.command("list")
def staff_list() -> None:
    """List the accounts."""
    click.echo(_staff_run("list"))
