"""Channel type -> notifier class, imported only when a channel of that type is configured.

A missing library (an optional install) becomes a start-up error naming the channel and
the package, not an ImportError deep in a dispatcher thread.
"""

from __future__ import annotations

import importlib

from fallwatch.config.channels import ChannelConfig
from fallwatch.config.notify import NotifyConfig
from fallwatch.notify.base import Notifier

NOTIFIERS: dict[str, tuple[str, str]] = {
    # type: ("module:Class", package that provides its client library)
    "sens": ("fallwatch.notify.sens:SensSmsNotifier", "httpx"),
    "twilio": ("fallwatch.notify.twilio:TwilioSmsNotifier", "httpx"),
    "webhook": ("fallwatch.notify.webhook:WebhookNotifier", "httpx"),
    "email": ("fallwatch.notify.email:EmailNotifier", "(standard library)"),
    "mqtt": ("fallwatch.notify.mqtt:MqttNotifier", "paho-mqtt"),
    "apprise": ("fallwatch.notify.apprise_urls:AppriseNotifier", "apprise"),
}


def build_notifier(config: ChannelConfig) -> Notifier:  # type: ignore[type-arg]
    """The notifier for one channel, checked (`check()`); ValueError names what is wrong."""
    target, package = NOTIFIERS[config.type]
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValueError(
            f"channel {config.name!r} (type {config.type}) needs the {package!r} package, "
            f"which is not installed ({exc.name}): pip install {package}"
        ) from None
    notifier: Notifier = getattr(module, class_name)(config)  # type: ignore[type-arg]
    try:
        notifier.check()
    except ValueError:
        notifier.close()
        raise
    return notifier


def build_notifiers(config: NotifyConfig) -> dict[str, Notifier]:  # type: ignore[type-arg]
    """Every configured channel by name; all problems are reported together."""
    built: dict[str, Notifier] = {}  # type: ignore[type-arg]
    errors = []
    for channel in config.channels:
        try:
            built[channel.name] = build_notifier(channel)
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        for notifier in built.values():
            notifier.close()
        raise ValueError("; ".join(errors))
    return built
