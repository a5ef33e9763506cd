"""`membot ...`: the command line. Builds the engine from settings and starts adapters."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from agent_core.errors import ConfigError, MembotError
from bot.logs import setup_logging
from bot.settings import Settings, load_settings

_log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, Settings], Awaitable[int]]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="membot", description="MemGPT-style agents with their own memory, in Discord, "
        "Slack and the terminal.")
    parser.add_argument("--config", help="TOML settings file (default: $MEMBOT_CONFIG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chat = sub.add_parser("chat", help="talk to an agent in this terminal (or from a pipe)")
    chat.add_argument("--agent", default="default", help="which agent (a name of your choice)")
    chat.set_defaults(settings_handler=_run_chat, needs_llm=True)
    config = sub.add_parser("config", help="print the effective settings (secrets masked)")
    config.set_defaults(settings_handler=_run_config)
    _register_extensions(sub)
    return parser


def _register_extensions(sub: Any) -> None:
    from bot import cli_ops, cli_sources

    cli_sources.register(sub)
    cli_ops.register(sub)


async def _run_chat(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.console import run_console

    async with await _open_engine(settings) as engine:
        return await run_console(engine, agent=args.agent)


async def _run_config(args: argparse.Namespace, settings: Settings) -> int:
    width = max(len(k) for k in settings.masked())
    for key, value in settings.masked().items():
        print(f"{key:<{width}}  {value or '-':<40}  ({settings.origin[key]})")
    return 0


async def _open_engine(settings: Settings) -> Any:
    from agent_core.engine import Engine

    return await Engine.open(settings.engine_config())


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "needs_llm", False):
        settings.require_llm()
    own = getattr(args, "settings_handler", None)
    if own is not None:
        return int(await own(args, settings))
    async with await _open_engine(settings) as engine:  # commands of extension modules
        return int(await args.handler(args, engine))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``membot`` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not (getattr(args, "handler", None) or getattr(args, "settings_handler", None)):
        parser.print_help()
        return 2
    try:
        settings = load_settings(config_path=args.config)
        setup_logging(settings["log_level"], settings["log_json"])
        return asyncio.run(_dispatch(args, settings))
    except ConfigError as exc:
        print(f"membot: configuration error: {exc.user_message()}", file=sys.stderr)
        return 2
    except MembotError as exc:
        print(f"membot: {exc.user_message()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
