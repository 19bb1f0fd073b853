"""`fallwatch notify test --channel NAME [--config PATH] [--to RECIPIENT]`.

Sends a harmless test message through one configured channel, straight through its
notifier (no database), and prints what the provider answered. Exit 0: every recipient
accepted it; 1: a delivery failed; 2: bad config or arguments.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from fallwatch.config.loader import load_notify_config
from fallwatch.i18n import cli_gettext as _

EXTRA = "notify"
"""The optional dependencies this command needs (`pip install 'fallwatch[notify]'`)."""

EXIT_OK = 0
EXIT_DELIVERY_FAILED = 1


def default_config_path() -> Path:
    return Path(os.environ.get("FALLWATCH_CONFIG", "fallwatch.yaml"))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("notify", help="Notification tools (test a channel).")
    sub = parser.add_subparsers(dest="notify_command", required=True, metavar="ACTION")
    test = sub.add_parser(
        "test",
        help="Send a test message through one channel and print the provider's answer.",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    test.add_argument("--channel", required=True, help="Name of a channel in the config.")
    test.add_argument(
        "--config",
        type=Path,
        default=None,
        help="YAML file with a top-level 'notify:' key (default: $FALLWATCH_CONFIG or "
        "./fallwatch.yaml).",
    )
    test.add_argument(
        "--to",
        action="append",
        default=None,
        metavar="RECIPIENT",
        help="Recipient (repeatable); default: every recipient the routes give this channel.",
    )
    test.set_defaults(handler=run_test)


def run_test(args: argparse.Namespace) -> int:
    # The channels' clients are the `notify` extra: imported here, so the CLI (and its
    # help) works on a core install and this command can say which extra is missing.
    from fallwatch.notify.clock import utc_now
    from fallwatch.notify.message import test_message
    from fallwatch.notify.registry import build_notifier
    from fallwatch.notify.routing import Router
    from fallwatch.store.alerts import new_alert_id

    path = args.config or default_config_path()
    config = load_notify_config(path)
    channel = config.channel(args.channel)
    recipients: list[str] = args.to or Router(config).recipients(channel.name)
    if channel.recipient_kind is None:
        if args.to:
            raise ValueError(f"channel {channel.name!r} ({channel.type}) takes no --to recipients")
        recipients = [""]
    elif not recipients:
        raise ValueError(
            f"no recipients for channel {channel.name!r}: no route uses it; pass --to "
            f"with a {channel.recipient_kind}"
        )
    pattern = channel.recipient_pattern
    for recipient in recipients:
        if pattern is not None and not pattern.match(recipient):
            raise ValueError(f"--to: {recipient!r} is not a {channel.recipient_kind}")
    notifier = build_notifier(channel)
    failed = 0
    try:
        for recipient in recipients:
            message = test_message(
                channel.name,
                recipient,
                now=utc_now(),
                alert_id=f"test-{new_alert_id()}",
                timezone=config.timezone,
                locale=config.locale,
                templates=config.templates.get(config.locale),
            )
            result = notifier.send(message)
            who = (
                f"{channel.name} -> {recipient or str(getattr(channel, 'url', '') or channel.type)}"
            )
            if channel.type == "apprise":
                who = f"{channel.name} -> (apprise url)"
            facts = [_("alert id {id}").format(id=message.alert_id)]
            if result.http_status is not None:
                facts.append(f"HTTP {result.http_status}")
            if result.provider_message_id:
                facts.append(_("provider id {id}").format(id=result.provider_message_id))
            if result.ok:
                print(_("ok      {who}: {facts}").format(who=who, facts=", ".join(facts)))
            else:
                failed += 1
                kind = _("permanent") if result.permanent else _("retryable")
                print(
                    _("FAILED  {who}: {error} ({kind}; {facts})").format(
                        who=who, error=result.error, kind=kind, facts=", ".join(facts)
                    )
                )
                if result.answer:
                    print(_("        provider answered: {answer}").format(answer=result.answer))
    finally:
        notifier.close()
    return EXIT_DELIVERY_FAILED if failed else EXIT_OK
