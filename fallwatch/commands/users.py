"""`fallwatch user add|list|passwd|set|delete` and `fallwatch token create`: accounts of the web UI
and API tokens, straight in the server's database (the server may be running)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from fallwatch.commands.serve import load_config
from fallwatch.config.server import ServerConfig
from fallwatch.types import Role

EXTRA = "server"
"""The optional dependencies this command needs (`pip install 'fallwatch[server]'`)."""


def register(subparsers: Any) -> None:
    user = subparsers.add_parser("user", help="Manage users of the web UI.")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = user_sub.add_parser("add", help="Add a user (asks for the password).")
    add.add_argument("username")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    _password_args(add)
    add.set_defaults(handler=run_user_add)
    passwd = user_sub.add_parser("passwd", help="Set a user's password (ends their sessions).")
    passwd.add_argument("username")
    _password_args(passwd)
    passwd.set_defaults(handler=run_user_passwd)
    edit = user_sub.add_parser(
        "set", help="Change a user's role, or disable/enable them (disabling ends sessions)."
    )
    edit.add_argument("username")
    edit.add_argument("--role", choices=[r.value for r in Role], default=None)
    state = edit.add_mutually_exclusive_group()
    state.add_argument("--disable", action="store_true", help="Block login; end sessions.")
    state.add_argument("--enable", action="store_true", help="Allow login again.")
    edit.add_argument("--config", type=Path, default=None, help="YAML config (for the database).")
    edit.set_defaults(handler=run_user_set)
    remove = user_sub.add_parser(
        "delete", help="Remove a user (sessions end, their API tokens are revoked)."
    )
    remove.add_argument("username")
    remove.add_argument("--config", type=Path, default=None, help="YAML config (for the database).")
    remove.set_defaults(handler=run_user_delete)
    lst = user_sub.add_parser("list", help="List users.")
    lst.add_argument("--config", type=Path, default=None, help="YAML config (for the database).")
    lst.set_defaults(handler=run_user_list)

    token = subparsers.add_parser("token", help="API tokens for integrations.")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_sub.add_parser("create", help="Create an API token and print it (shown once).")
    create.add_argument("name", help="What it is for, e.g. 'prometheus'.")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    create.add_argument("--config", type=Path, default=None, help="YAML config (for the database).")
    create.set_defaults(handler=run_token_create)


def _password_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, help="YAML config (for the database).")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="Read the password from standard input.",
    )


def _config(args: argparse.Namespace) -> ServerConfig:
    return load_config(args.config)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("the passwords do not match")
    return first


def _auth(config: ServerConfig) -> Any:
    from fallwatch.notify.clock import utc_now
    from fallwatch.serve.auth import AuthService
    from fallwatch.store.db import make_engine, migrate, session_factory, sqlite_url

    engine = make_engine(config.database_url or sqlite_url(config.data_dir))
    migrate(engine)
    return AuthService(session_factory(engine), utc_now)


def run_user_add(args: argparse.Namespace) -> int:
    from fallwatch.store.errors import Conflict

    auth = _auth(_config(args))
    try:
        view = auth.add_user(args.username, _read_password(args), Role(args.role))
    except Conflict as exc:
        raise ValueError(str(exc)) from None
    print(f"user {view.username!r} added with role {view.role.value}")
    return 0


def run_user_passwd(args: argparse.Namespace) -> int:
    from fallwatch.store.errors import NotFound

    auth = _auth(_config(args))
    try:
        auth.set_password(args.username, _read_password(args))
    except NotFound as exc:
        raise ValueError(str(exc)) from None
    print(f"password of {args.username!r} changed; their sessions have ended")
    return 0


def run_user_set(args: argparse.Namespace) -> int:
    from fallwatch.store.errors import Conflict, NotFound

    auth = _auth(_config(args))
    disabled = True if args.disable else False if args.enable else None
    role = Role(args.role) if args.role else None
    if role is None and disabled is None:
        raise ValueError("nothing to change: give --role, --disable or --enable")
    try:
        view = auth.update_user(auth.user_id(args.username), role=role, disabled=disabled)
    except (Conflict, NotFound) as exc:
        raise ValueError(str(exc)) from None
    state = "disabled" if view.disabled else "active"
    print(f"user {view.username!r}: {view.role.value}, {state}")
    return 0


def run_user_delete(args: argparse.Namespace) -> int:
    from fallwatch.store.errors import Conflict, NotFound

    auth = _auth(_config(args))
    try:
        auth.delete_user(auth.user_id(args.username))
    except (Conflict, NotFound) as exc:
        raise ValueError(str(exc)) from None
    print(f"user {args.username.lower()!r} removed; their sessions and API tokens have ended")
    return 0


def run_user_list(args: argparse.Namespace) -> int:
    for u in _auth(_config(args)).list_users():
        state = "disabled" if u.disabled else "active"
        print(f"{u.username:<24} {u.role.value:<9} {state}")
    return 0


def run_token_create(args: argparse.Namespace) -> int:
    token, view = _auth(_config(args)).create_token(args.name, Role(args.role), None)
    print(
        f"# token {view.id} '{view.name}' ({view.role.value}); send as 'Authorization: Bearer <token>'",
        file=sys.stderr,
    )
    print(token)
    return 0
