"""Which channels and recipients hear about a camera."""

from __future__ import annotations

from fallwatch.config.notify import NotifyConfig, RouteTarget
from fallwatch.store.alerts import AlertTarget


def _expand(targets: list[RouteTarget]) -> list[AlertTarget]:
    out = []
    for target in targets:
        for recipient in target.to or [""]:
            out.append(AlertTarget(target.channel, recipient))
    return out


class Router:
    """Every route whose cameras (ids, globs, groups) match contributes its targets."""

    def __init__(self, config: NotifyConfig) -> None:
        self._config = config

    def no_targets_reason(self, camera_id: str) -> str:
        """Why an event on `camera_id` alerts nobody: no routes at all, or none for it."""
        if not self._config.routes:
            return "no notification routes configured"
        return f"no notification route matches camera {camera_id}"

    def alert_targets(self, camera_id: str) -> list[AlertTarget]:
        return self._targets(camera_id, "notify")

    def escalation_targets(self, camera_id: str) -> list[AlertTarget]:
        return self._targets(camera_id, "escalate_to")

    def fallback_targets(self, camera_id: str) -> list[AlertTarget]:
        return self._targets(camera_id, "fallback_to")

    def _targets(self, camera_id: str, part: str) -> list[AlertTarget]:
        found: list[AlertTarget] = []
        for route in self._config.routes:
            if self._config.route_matches(route, camera_id):
                found.extend(_expand(getattr(route, part)))
        return list(dict.fromkeys(found))

    def recipients(self, channel: str) -> list[str]:
        """Everyone any route sends to on `channel` ('' for one-destination channels)."""
        found: list[str] = []
        for route in self._config.routes:
            for target in [*route.notify, *route.escalate_to, *route.fallback_to]:
                if target.channel == channel:
                    found.extend(target.to or [""])
        return list(dict.fromkeys(found))
