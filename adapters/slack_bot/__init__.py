"""The Slack adapter: agents per user/channel/thread, slash commands, files as sources.

``run_slack`` is the entry point ``membot run slack`` calls; ``SlackBot`` is the Bolt
app with its listeners (tests drive it directly). Names are imported on first use so
that reading the settings does not load slack-bolt.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "SlackBot": "adapters.slack_bot.app",
    "SlackHttpServer": "adapters.slack_bot.runner",
    "run_slack": "adapters.slack_bot.runner",
    "SlackSettings": "adapters.slack_bot.settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
