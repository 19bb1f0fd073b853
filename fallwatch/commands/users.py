"""`fallwatch user add|list|passwd|set|disable|enable|remove` and `fallwatch token
create|list|revoke`: accounts of the web UI and API tokens, straight in the server's
database (the server may be running). Passwords come from the terminal, or with no terminal
from `--password-stdin` or `--password-file`; never a prompt that cannot be answered."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from fallwatch.commands import UsageError
from fallwatch.commands.serve import load_config
from fallwatch.config.server import ServerConfig
from fallwatch.i18n import cli_gettext as _
from fallwatch.types import Role

EXTRA = "server"
"""The optional dependencies this command needs (`pip install 'fallwatch[server]'`)."""

MIN_PASSWORD = 8
"""As the API: at least this many characters."""


def register(subparsers: Any) -> None:
    user = subparsers.add_parser("user", help=_("Manage users of the web UI."))
    _register_user(user.add_subparsers(dest="user_command", required=True, metavar="ACTION"))
    token = subparsers.add_parser("token", help=_("API tokens for integrations."))
    _register_token(token.add_subparsers(dest="token_command", required=True, metavar="ACTION"))


def _action(sub: Any, name: str, help: str, handler: Any, **kw: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help, **kw)
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=_("YAML config, for the database (default: $FALLWATCH_CONFIG or ./fallwatch.yaml)."),
    )
    parser.set_defaults(handler=handler)
    return parser


def _register_user(sub: Any) -> None:
    roles = [r.value for r in Role]
    add = _action(sub, "add", _("Add a user (asks for the password)."), run_user_add)
    add.add_argument("username")
    add.add_argument("--role", choices=roles, default=Role.VIEWER.value)
    _password_args(add)
    passwd = _action(
        sub, "passwd", _("Set a user's password (ends their sessions)."), run_user_passwd
    )
    passwd.add_argument("username")
    _password_args(passwd)
    edit = _action(
        sub,
        "set",
        _("Change a user's role, or disable/enable them (disabling ends sessions)."),
        run_user_set,
    )
    edit.add_argument("username")
    edit.add_argument("--role", choices=roles, default=None)
    state = edit.add_mutually_exclusive_group()
    state.add_argument("--disable", action="store_true", help=_("Block login; end sessions."))
    state.add_argument("--enable", action="store_true", help=_("Allow login again."))
    for name, help in (
        ("disable", _("Block a user's login and end their sessions (same as set --disable).")),
        ("enable", _("Let a disabled user log in again (same as set --enable).")),
    ):
        toggle = _action(sub, name, help, run_user_set)
        toggle.add_argument("username")
        toggle.set_defaults(role=None, disable=name == "disable", enable=name == "enable")
    remove = _action(
        sub,
        "remove",
        _("Remove a user (sessions end, their API tokens are revoked)."),
        run_user_delete,
        aliases=["delete"],
    )
    remove.add_argument("username")
    _action(sub, "list", _("List users."), run_user_list)


def _register_token(sub: Any) -> None:
    create = _action(
        sub, "create", _("Create an API token and print it (shown once)."), run_token_create
    )
    create.add_argument("name", help=_("What it is for, e.g. 'prometheus'."))
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    lst = _action(sub, "list", _("List API tokens (never the tokens themselves)."), run_token_list)
    lst.add_argument("--all", action="store_true", help=_("Include revoked tokens."))
    revoke = _action(
        sub,
        "revoke",
        _("Revoke an API token, by id or by name (see 'token list')."),
        run_token_revoke,
    )
    revoke.add_argument("token", metavar="ID_OR_NAME")


def _password_args(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--password-stdin",
        action="store_true",
        help=_("Read the password from the first line of standard input (for scripts)."),
    )
    source.add_argument(
        "--password-file",
        type=Path,
        default=None,
        metavar="PATH",
        help=_("Read the password from the first line of this file."),
    )


def _config(args: argparse.Namespace) -> ServerConfig:
    return load_config(args.config)


def _checked(password: str, where: str) -> str:
    if not password:
        raise UsageError(_("no password in {where}").format(where=where))
    if len(password) < MIN_PASSWORD:
        raise UsageError(
            _("the password needs at least {count} characters").format(count=MIN_PASSWORD)
        )
    return password


def _read_password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        try:
            with args.password_file.open(encoding="utf-8") as f:
                line = f.readline()
        except OSError as exc:
            raise UsageError(f"--password-file {args.password_file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(
                _("--password-file {path}: not UTF-8 text").format(path=args.password_file)
            ) from None
        return _checked(line.rstrip("\r\n"), str(args.password_file))
    if args.password_stdin:
        if sys.stdin is None:
            raise UsageError(_("--password-stdin: standard input is closed"))
        return _checked(sys.stdin.readline().rstrip("\r\n"), _("standard input"))
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError(
            _(
                "no terminal to ask for the password: pipe it in with --password-stdin, "
                "or give --password-file PATH"
            )
        )
    try:
        first = getpass.getpass(_("Password: "))
        again = getpass.getpass(_("Again: "))
    except EOFError:
        raise UsageError(_("no password given")) from None
    if again != first:
        raise UsageError(_("the passwords do not match"))
    return _checked(first, _("the answer"))


def _auth(config: ServerConfig) -> Any:
    from fallwatch.notify.clock import utc_now
    from fallwatch.serve.auth import AuthService
    from fallwatch.store.db import make_engine, migrate, session_factory, sqlite_url

    engine = make_engine(config.database_url or sqlite_url(config.data_dir))
    migrate(engine)
    return AuthService(session_factory(engine), utc_now)


def run_user_add(args: argparse.Namespace) -> int:
    from fallwatch.store.errors import Conflict

    config = _config(args)
    password = _read_password(args)  # before the database: bad input changes nothing
    auth = _auth(config)
    try:
        view = auth.add_user(args.username, password, Role(args.role))
    except Conflict as exc:
        raise ValueError(str(exc)) from None
    print(
        _("user {name!r} added with role {role}").format(name=view.username, role=view.role.value)
    )
    return 0


def run_user_passwd(args: argparse.Namespace) -> int:
    from fallwatch.store.errors import NotFound

    config = _config(args)
    password = _read_password(args)
    auth = _auth(config)
    try:
        auth.set_password(args.username, password)
    except NotFound as exc:
        raise ValueError(str(exc)) from None
    print(_("password of {name!r} changed; their sessions have ended").format(name=args.username))
    return 0


def run_user_set(args: argparse.Namespace) -> int:
    from fallwatch.store.errors import Conflict, NotFound

    auth = _auth(_config(args))
    disabled = True if args.disable else False if args.enable else None
    role = Role(args.role) if args.role else None
    if role is None and disabled is None:
        raise ValueError(_("nothing to change: give --role, --disable or --enable"))
    try:
        view = auth.update_user(auth.user_id(args.username), role=role, disabled=disabled)
    except (Conflict, NotFound) as exc:
        raise ValueError(str(exc)) from None
    state = _("disabled") if view.disabled else _("active")
    print(
        _("user {name!r}: {role}, {state}").format(
            name=view.username, role=view.role.value, state=state
        )
    )
    return 0


def run_user_delete(args: argparse.Namespace) -> int:
    from fallwatch.store.errors import Conflict, NotFound

    auth = _auth(_config(args))
    try:
        auth.delete_user(auth.user_id(args.username))
    except (Conflict, NotFound) as exc:
        raise ValueError(str(exc)) from None
    print(
        _("user {name!r} removed; their sessions and API tokens have ended").format(
            name=args.username.lower()
        )
    )
    return 0


def run_user_list(args: argparse.Namespace) -> int:
    for u in _auth(_config(args)).list_users():
        state = _("disabled") if u.disabled else _("active")
        print(f"{u.username:<24} {u.role.value:<9} {state}")
    return 0


def run_token_create(args: argparse.Namespace) -> int:
    token, view = _auth(_config(args)).create_token(args.name, Role(args.role), None)
    print(
        _("# token {id} '{name}' ({role}); send as 'Authorization: Bearer <token>'").format(
            id=view.id, name=view.name, role=view.role.value
        ),
        file=sys.stderr,
    )
    print(token)
    return 0


def run_token_list(args: argparse.Namespace) -> int:
    tokens = [t for t in _auth(_config(args)).list_tokens() if args.all or t.revoked_at is None]
    if not tokens:
        print(
            _("no API tokens") if args.all else _("no active API tokens (--all lists revoked ones)")
        )
    for t in tokens:
        revoked = f"{t.revoked_at:%Y-%m-%d %H:%M} UTC" if t.revoked_at else ""
        state = _("revoked {time}").format(time=revoked) if t.revoked_at else _("active")
        used = f"{t.last_used_at:%Y-%m-%d %H:%M} UTC" if t.last_used_at else _("never used")
        print(f"{t.id:<5} {t.name:<24} {t.prefix}…  {t.role.value:<9} {used:<20} {state}")
    return 0


def run_token_revoke(args: argparse.Namespace) -> int:
    auth = _auth(_config(args))
    tokens = auth.list_tokens()
    wanted: str = args.token
    if wanted.isdigit():
        found = [t for t in tokens if t.id == int(wanted)]
    else:
        found = [t for t in tokens if t.name == wanted and t.revoked_at is None]
    if not found:
        raise UsageError(
            _("no active API token {name!r} (see 'fallwatch token list')").format(name=wanted)
        )
    if len(found) > 1:
        ids = ", ".join(str(t.id) for t in found)
        raise UsageError(
            _("{count} tokens are named {name!r}: give the id ({ids})").format(
                count=len(found), name=wanted, ids=ids
            )
        )
    token = found[0]
    if token.revoked_at is not None:
        print(_("token {id} '{name}' was already revoked").format(id=token.id, name=token.name))
        return 0
    auth.revoke_token(token.id)
    print(_("token {id} '{name}' revoked").format(id=token.id, name=token.name))
    return 0
