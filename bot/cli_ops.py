"""Operator commands: run, init, agents, export, import, migrate-archive, platform tools."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agent_core.domain import ConversationKey
from agent_core.engine import Engine
from agent_core.errors import ConfigError
from bot.settings import KEYS, Settings


def register(sub: Any) -> None:
    """Add the operator subcommands."""
    run = sub.add_parser("run", help="run the bot on discord, slack or all (default: every "
                         "platform whose token is set; none: the terminal chat)")
    run.add_argument("platform", nargs="?", choices=("discord", "slack", "all"))
    run.set_defaults(settings_handler=run_platforms)
    init = sub.add_parser("init", help="write a commented example membot.toml")
    init.add_argument("path", nargs="?", default="membot.toml", type=Path)
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(settings_handler=run_init)
    sub.add_parser("agents", help="list agents and what each remembers").set_defaults(
        handler=run_agents)
    export = sub.add_parser("export", help="print an agent as JSON (membot export KEY > a.json)")
    export.add_argument("agent", help="conversation key (platform:workspace:scope), see agents")
    export.set_defaults(handler=run_export)
    imp = sub.add_parser("import", help="restore an agent exported with membot export")
    imp.add_argument("file", type=Path, help="the JSON file (- for stdin)")
    imp.add_argument("--as", dest="as_key", help="restore under another conversation key")
    imp.add_argument("--replace", action="store_true",
                     help="replace the conversation's current agent (it is reset, not deleted)")
    imp.set_defaults(handler=run_import)
    migrate = sub.add_parser("migrate-archive", help="copy every passage to another Milvus "
                             "(server URI or Lite file), then point MEMBOT_MILVUS_URI at it")
    migrate.add_argument("--to", required=True, dest="target", help="target URI")
    migrate.add_argument("--token-env", default="MEMBOT_MIGRATE_TOKEN",
                         help="environment variable holding the target's token")
    migrate.set_defaults(handler=run_migrate)
    discord = sub.add_parser("discord", help="Discord tools")
    discord.add_argument("action", choices=("sync",), help="sync: push the slash commands now")
    discord.set_defaults(settings_handler=run_discord_tool)
    slack = sub.add_parser("slack", help="Slack tools")
    slack.add_argument("action", choices=("manifest",), help="print the app manifest")
    slack.add_argument("--request-url", help="HTTP mode: public URL of /slack/events")
    slack.set_defaults(settings_handler=run_slack_manifest)


async def run_platforms(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runner import PLATFORMS, configured_platforms, platform_entries, serve

    names = list(PLATFORMS) if args.platform == "all" else (
        [args.platform] if args.platform else configured_platforms(settings))
    settings.require_llm()
    if not names:
        print("membot: no DISCORD_TOKEN or SLACK_BOT_TOKEN set; starting the terminal chat "
              "(see README to connect Discord or Slack).", file=sys.stderr)
        from adapters.console import run_console

        async with await Engine.open(settings.engine_config()) as engine:
            return await run_console(engine)
    entries = platform_entries(settings, names)
    engine = await Engine.open(settings.engine_config())
    return await serve(engine, entries, http_host=settings["http_host"],
                       http_port=settings["http_port"])


async def run_init(args: argparse.Namespace, settings: Settings) -> int:
    if args.path.exists() and not args.force:
        raise ConfigError(f"{args.path} exists.", hint="Use --force to overwrite it.")
    args.path.write_text(example_config(), "utf-8")
    print(f"Wrote {args.path}. Secrets (API keys, tokens) go in environment variables.")
    return 0


def example_config() -> str:
    """A commented TOML file with every non-secret setting at its default."""
    lines = ["# membot settings. Environment variables override this file.",
             "# Secrets are read from the environment only:"]
    lines += [f"#   {k.env}: {k.help}" for k in KEYS if k.secret]
    section = ""
    for key in KEYS:
        if key.secret:
            continue
        head, _, name = key.name.rpartition(".")
        if head != section:
            section = head
            lines += ["", f"[{section}]"]
        if not head:
            name = key.name
        lines.append("")
        if key.help:
            lines.append(f"# {key.help}")
        lines.append(f"# env: {key.env}")
        lines.append(f"# {name} = {_toml_value(key.default)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))


async def run_agents(args: argparse.Namespace, engine: Engine) -> int:
    rows = await engine.agents_overview()
    if not rows:
        print("No agents yet.")
        return 0
    print(f"{'conversation':<40} {'messages':>8} {'archival':>8}  {'last active':<20} sources")
    for r in rows:
        print(f"{r['conversation']:<40} {r['messages']:>8} {r['archival']:>8}  "
              f"{r['last_active']:<20} {', '.join(r['sources']) or '-'}")
    return 0


async def run_export(args: argparse.Namespace, engine: Engine) -> int:
    document = await engine.export(args.agent)
    json.dump(document, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


async def run_import(args: argparse.Namespace, engine: Engine) -> int:
    text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text("utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{args.file} is not JSON: {exc}.") from exc
    key = ConversationKey.parse(args.as_key) if args.as_key else None
    restored = await engine.import_(document, key, replace=args.replace)
    print(f"Imported the agent as {restored}.")
    return 0


async def run_migrate(args: argparse.Namespace, engine: Engine) -> int:
    import os

    from agent_core.backends.milvus_archive import MilvusArchive
    from agent_core.portability import migrate_archive

    if args.target == engine.config.archive_uri:
        raise ConfigError("The target is the archive in use.", key="--to")
    target = await MilvusArchive.open(
        args.target, token=os.environ.get(args.token_env) or None,
        collection=engine.config.milvus_collection, dimension=engine.embedder.dimension,
        embedding_model=engine.embedder.name)
    try:
        counts = await migrate_archive(engine, target)
    finally:
        await target.aclose()
    print(f"Copied {counts['passages']} passages of {counts['owners']} agents and sources to "
          f"{args.target}. Now set MEMBOT_MILVUS_URI={args.target} and restart.")
    return 0


async def run_discord_tool(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.discord_bot import sync_discord_commands
    from bot.runner import require_token

    token = require_token(settings, "discord")
    async with await Engine.open(settings.engine_config()) as engine:
        synced = await sync_discord_commands(engine, settings.discord(), token)
    print(f"Synced the slash commands to {synced} target(s).")
    return 0


async def run_slack_manifest(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.slack_bot.manifest import render_manifest

    print(render_manifest(settings.slack(), request_url=args.request_url))
    return 0
