"""The Slack adapter: agents per user/channel/thread, slash commands, files as sources.

``run_slack`` is the entry point ``membot run slack`` calls; ``SlackBot`` is the Bolt
app with its listeners (tests drive it directly).
"""

from __future__ import annotations

from adapters.slack_bot.app import SlackBot
from adapters.slack_bot.runner import SlackHttpServer, run_slack
from adapters.slack_bot.settings import SlackSettings

__all__ = ["SlackBot", "SlackHttpServer", "SlackSettings", "run_slack"]
