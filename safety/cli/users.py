"""`vigil users`: add, disable, enable, reset and list dashboard users."""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer

from safety.cli.app import ConfigOption, FormatOption, OutputFormat, UserError, app, console, emit
from safety.cli.core import open_store, study_config

users_app = typer.Typer(help="Dashboard users (argon2 password hashes in the store).", no_args_is_help=True)
app.add_typer(users_app, name="users")

RoleOption = Annotated[str, typer.Option("--role", help="safety_officer, committee, investigator or admin")]
GenerateOption = Annotated[bool, typer.Option("--generate", help="generate a password and print it once")]


def _password(generate: bool) -> str | None:
    """None = generate; otherwise ask twice without echo."""
    if generate:
        return None
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Repeat password", hide_input=True) != first:
        raise UserError("the two passwords differ")
    return first


@users_app.command("add")
def add(name: str, role: RoleOption, config: ConfigOption = None, generate: GenerateOption = False) -> None:
    """Create a user; prompts for the password unless --generate."""
    from safety.users import UserError as BadUser
    from safety.users import create_user

    store = open_store(study_config(config))
    try:
        user, password = create_user(store, name, role, _password(generate))
    except BadUser as exc:
        raise UserError(str(exc)) from None
    console.print(f"user {user.username!r} created with role {user.role}")
    if generate:
        console.print(f"password (shown once): {password}", highlight=False)


def _set_active(name: str, active: bool, config) -> None:
    from safety.users import UserError as BadUser
    from safety.users import set_active

    try:
        set_active(open_store(study_config(config)), name, active)
    except BadUser as exc:
        raise UserError(str(exc)) from None
    console.print(f"user {name!r} {'enabled' if active else 'disabled'}")


@users_app.command("disable")
def disable(name: str, config: ConfigOption = None) -> None:
    """Disable a user: their sessions end at their next request."""
    _set_active(name, False, config)


@users_app.command("enable")
def enable(name: str, config: ConfigOption = None) -> None:
    """Re-enable a disabled user."""
    _set_active(name, True, config)


@users_app.command("reset")
def reset(name: str, config: ConfigOption = None, generate: GenerateOption = False) -> None:
    """Set a new password; prompts unless --generate."""
    from safety.users import UserError as BadUser
    from safety.users import reset_password

    try:
        password = reset_password(open_store(study_config(config)), name, _password(generate))
    except BadUser as exc:
        raise UserError(str(exc)) from None
    console.print(f"password of {name!r} reset")
    if generate:
        console.print(f"password (shown once): {password}", highlight=False)


@users_app.command("list")
def list_command(config: ConfigOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """Users, roles and last activity (never hashes)."""
    from safety.users import list_users

    rows = [{"username": u.username, "role": u.role, "active": u.active, "created_at": u.created_at,
             "last_login_at": u.last_login_at, "last_seen_at": u.last_seen_at}
            for u in list_users(open_store(study_config(config)))]
    emit(pl.DataFrame(rows) if rows else pl.DataFrame({"username": []}), fmt, title="dashboard users")
