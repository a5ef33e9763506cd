"""Slash commands: /attach /detach /sources /load /memory /reset /forget /delete /help."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from adapters.commands import error_text, help_text, render_memory, render_sources
from adapters.discord_bot import routing, uploads
from adapters.discord_bot.replies import NO_PINGS, interaction_status
from adapters.discord_bot.splitting import split_message
from adapters.discord_bot.views import ConfirmView
from agent_core.errors import MembotError

if TYPE_CHECKING:
    from adapters.discord_bot.client import MembotClient

_log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[str]]

NOT_HERE = "membot is not enabled in this channel."
RESTARTING = "membot is restarting; please try again in a moment."
DOWNLOAD_FAILED = "⚠️ I could not download the file from Discord; please upload it again."
NEEDS_MANAGE = "You need the Manage Server permission (or a membot admin role) to {what}."


class MembotTree(app_commands.CommandTree["MembotClient"]):
    """The command tree: refuses commands where the bot is not enabled, reports errors."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Allow a command only where the allow/deny lists permit and while running."""
        bot = self.client
        refusal = None
        if bot.closing:
            refusal = RESTARTING
        elif not routing.location_allowed(
            bot.settings,
            interaction.guild_id,
            interaction.channel_id or 0,
            routing.thread_parent(interaction.channel),
        ):
            refusal = NOT_HERE
        if refusal is None:
            _track(bot)
            return True
        if interaction.type is discord.InteractionType.application_command:
            await interaction.response.send_message(refusal, ephemeral=True)
        return False

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Log the failure and tell the user in a readable way."""
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        _log.error("command %s failed", getattr(interaction.command, "name", "?"), exc_info=cause)
        text = f"⚠️ {error_text(cause)}"
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException as exc:
            _log.warning("could not report a command error: %s", exc)


async def respond(
    bot: MembotClient, interaction: discord.Interaction, work: Work, *, ephemeral: bool = True
) -> None:
    """Defer at once (Discord's 3 s deadline), run ``work``, then show its text.

    Errors become a readable message; long texts continue in follow-up messages.
    """
    _track(bot)
    await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    try:
        text = await work()
    except MembotError as exc:
        _log.info("command %s refused: %s", _name(interaction), exc)
        text = f"⚠️ {exc.user_message()}"
    except Exception as exc:
        _log.exception("command %s failed", _name(interaction))
        text = f"⚠️ {error_text(exc)}"
    await send_chunks(interaction, text, ephemeral=ephemeral)


async def send_chunks(interaction: discord.Interaction, text: str, *, ephemeral: bool) -> None:
    """Put ``text`` in the deferred response, continuing in follow-ups past 2000 chars."""
    chunks = split_message(text) or ["(nothing to show)"]
    await interaction.edit_original_response(content=chunks[0], allowed_mentions=NO_PINGS)
    for chunk in chunks[1:]:
        await interaction.followup.send(chunk, ephemeral=ephemeral, allowed_mentions=NO_PINGS)


def _track(bot: MembotClient) -> None:
    """Let shutdown wait for the running command."""
    task = asyncio.current_task()
    if task is not None:
        bot.track(task)


def _name(interaction: discord.Interaction) -> str:
    return getattr(interaction.command, "name", "?")


def _workspace(interaction: discord.Interaction) -> str:
    return routing.workspace_for(interaction.guild_id, interaction.user.id)


def may_manage(bot: MembotClient, interaction: discord.Interaction) -> bool:
    """Whether the user may delete sources / reset shared agents here."""
    return routing.can_manage(
        bot.settings, interaction.user, interaction.permissions, interaction.guild_id
    )


async def refuse(interaction: discord.Interaction, what: str) -> None:
    """Answer a command the user may not run."""
    await interaction.response.send_message(NEEDS_MANAGE.format(what=what), ephemeral=True)


async def source_choices(
    bot: MembotClient, interaction: discord.Interaction, current: str, *, attached: bool
) -> list[app_commands.Choice[str]]:
    """Autocomplete: the workspace's sources (or the attached ones) matching ``current``."""
    try:
        if attached:
            infos = await bot.engine.attached(
                routing.key_for_interaction(bot.settings, interaction)
            )
        else:
            infos = await bot.engine.sources(_workspace(interaction))
    except Exception:
        _log.warning("source autocomplete failed", exc_info=True)
        return []
    needle = current.lower().strip()
    return [
        app_commands.Choice(name=f"{s.name} ({s.passages} passages)"[:100], value=s.name)
        for s in infos
        if needle in s.name.lower()
    ][:25]


def install_commands(tree: MembotTree, bot: MembotClient) -> None:
    """Register every slash command on ``tree``, bound to ``bot``."""
    _install_source_commands(tree, bot)
    _install_agent_commands(tree, bot)


def _install_source_commands(tree: MembotTree, bot: MembotClient) -> None:
    """/attach /detach /sources /load /delete, with source name autocomplete."""

    @tree.command(name="attach", description="Let your agent search a source of this server")
    @app_commands.describe(source="The source to attach")
    async def attach(interaction: discord.Interaction, source: str) -> None:
        await attach_source(bot, interaction, source)

    @tree.command(name="detach", description="Stop your agent from searching a source")
    @app_commands.describe(source="The source to detach")
    async def detach(interaction: discord.Interaction, source: str) -> None:
        await detach_source(bot, interaction, source)

    @tree.command(name="sources", description="List this server's sources")
    async def sources(interaction: discord.Interaction) -> None:
        await list_sources(bot, interaction)

    @tree.command(name="load", description="Load a PDF, text or Markdown file as a source")
    @app_commands.describe(file="The file to load", name="Source name (default: the file name)")
    async def load(
        interaction: discord.Interaction, file: discord.Attachment, name: str | None = None
    ) -> None:
        await load_source(bot, interaction, file, name)

    @tree.command(name="delete", description="Delete a source of this server for everyone")
    @app_commands.describe(source="The source to delete")
    async def delete(interaction: discord.Interaction, source: str) -> None:
        await delete_source(bot, interaction, source)

    async def all_sources(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await source_choices(bot, interaction, current, attached=False)

    async def attached_sources(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await source_choices(bot, interaction, current, attached=True)

    attach.autocomplete("source")(all_sources)
    delete.autocomplete("source")(all_sources)
    detach.autocomplete("source")(attached_sources)


def _install_agent_commands(tree: MembotTree, bot: MembotClient) -> None:
    """/memory /reset /forget /help."""

    @tree.command(name="memory", description="Show your agent's core memory and memory sizes")
    async def memory(interaction: discord.Interaction) -> None:
        await show_memory(bot, interaction)

    @tree.command(name="reset", description="Start over with a fresh agent")
    async def reset(interaction: discord.Interaction) -> None:
        await confirm_reset(bot, interaction)

    @tree.command(name="forget", description="Delete everything your agent holds")
    async def forget(interaction: discord.Interaction) -> None:
        await confirm_forget(bot, interaction)

    @tree.command(name="help", description="What membot can do")
    async def help_(interaction: discord.Interaction) -> None:
        await show_help(interaction)


async def attach_source(bot: MembotClient, interaction: discord.Interaction, source: str) -> None:
    """``/attach``: bind a source to the conversation's agent."""
    key = routing.key_for_interaction(bot.settings, interaction)

    async def work() -> str:
        info = await bot.engine.attach(key, source)
        return (
            f"📎 Attached `{info.name}` ({info.passages} passages): your agent can now search it."
        )

    await respond(bot, interaction, work)


async def detach_source(bot: MembotClient, interaction: discord.Interaction, source: str) -> None:
    """``/detach``: unbind a source from the conversation's agent."""
    key = routing.key_for_interaction(bot.settings, interaction)

    async def work() -> str:
        info = await bot.engine.detach(key, source)
        return f"Detached `{info.name}`: your agent no longer searches it."

    await respond(bot, interaction, work)


async def list_sources(bot: MembotClient, interaction: discord.Interaction) -> None:
    """``/sources``: the workspace's sources, marking those attached here."""
    key = routing.key_for_interaction(bot.settings, interaction)

    async def work() -> str:
        infos = await bot.engine.sources(key.workspace)
        attached = {s.name for s in await bot.engine.attached(key)}
        return render_sources(infos, attached)

    await respond(bot, interaction, work)


async def show_memory(bot: MembotClient, interaction: discord.Interaction) -> None:
    """``/memory``: core memory and tier sizes (only the user sees it)."""
    key = routing.key_for_interaction(bot.settings, interaction)

    async def work() -> str:
        return render_memory(await bot.engine.memory(key))

    await respond(bot, interaction, work)


def discord_help() -> str:
    """The shared command help, with the commands only Discord has and how to chat."""
    shared = help_text(
        "/", only=("memory", "sources", "attach", "detach", "reset", "forget", "help")
    ).split("\n")
    extra = [
        "`/load file [name]`: load an attached PDF, text or Markdown file as a source",
        "`/delete source`: delete a source of this server (needs Manage Server)",
        "Chat with me in a DM, by mentioning me, or in a thread I'm part of; "
        "drop a PDF, .txt or .md file here to make it a source.",
    ]
    return "\n".join([*shared[:-1], *extra, shared[-1]])


async def show_help(interaction: discord.Interaction) -> None:
    """``/help``: the command list (no engine call: answered at once)."""
    chunks = split_message(discord_help())
    await interaction.response.send_message(chunks[0], ephemeral=True)
    for chunk in chunks[1:]:
        await interaction.followup.send(chunk, ephemeral=True)


async def load_source(
    bot: MembotClient, interaction: discord.Interaction, file: discord.Attachment, name: str | None
) -> None:
    """``/load``: ingest an attached file, editing the response as it progresses."""
    refusal = uploads.check_attachment(file, bot.settings.max_file_bytes)
    if refusal is not None:
        await interaction.response.send_message(uploads.refusal_text([refusal]), ephemeral=True)
        return
    source = (name or "").strip() or uploads.source_name_for(file.filename)
    _track(bot)
    await interaction.response.defer(thinking=True)
    try:
        uploaded = await uploads.download(file)
    except discord.HTTPException as exc:
        _log.warning("downloading %s failed: %s", file.filename, exc)
        await interaction.edit_original_response(content=DOWNLOAD_FAILED)
        return
    status = interaction_status(interaction, bot.settings.edit_interval)
    await uploads.load_files(bot.engine, _workspace(interaction), source, [uploaded], status)


async def confirm_reset(bot: MembotClient, interaction: discord.Interaction) -> None:
    """``/reset``: after confirmation, a fresh agent for this conversation."""
    key = routing.key_for_interaction(bot.settings, interaction)
    if routing.is_shared(bot.settings.scope, interaction.guild_id) and not may_manage(
        bot, interaction
    ):
        await refuse(interaction, "reset the agent everyone here shares")
        return

    async def action() -> str:
        await bot.engine.reset(key)
        return "🔄 Fresh start: a new agent answers from now on (old messages stay in the history)."

    await ask(bot, interaction, action, RESET_QUESTION, "Reset")


async def confirm_forget(bot: MembotClient, interaction: discord.Interaction) -> None:
    """``/forget``: after confirmation, delete everything the agent holds."""
    key = routing.key_for_interaction(bot.settings, interaction)
    if routing.is_shared(bot.settings.scope, interaction.guild_id) and not may_manage(
        bot, interaction
    ):
        await refuse(interaction, "erase the agent everyone here shares")
        return

    async def action() -> str:
        await bot.engine.forget(key)
        return "🗑️ Done: your agent's memory, messages and archival memories are deleted."

    await ask(bot, interaction, action, FORGET_QUESTION, "Delete everything")


RESET_QUESTION = (
    "Start over with a fresh agent? Its core memory and context start empty "
    "(past messages stay stored but are no longer linked to it)."
)
FORGET_QUESTION = (
    "Delete **everything** this agent holds: core memory, every message and every "
    "archival memory? This cannot be undone."
)


async def ask(
    bot: MembotClient, interaction: discord.Interaction, action: Work, question: str, label: str
) -> None:
    """Post ``question`` with Confirm/Cancel buttons for the user who asked."""
    view = ConfirmView(interaction.user.id, action, confirm_label=label, track=bot.track)
    view.origin = interaction
    await interaction.response.send_message(question, view=view, ephemeral=True)


async def delete_source(bot: MembotClient, interaction: discord.Interaction, source: str) -> None:
    """``/delete``: remove a source and its passages for the whole server."""
    if not may_manage(bot, interaction):
        await refuse(interaction, "delete this server's sources")
        return
    workspace = _workspace(interaction)

    async def work() -> str:
        info = await bot.engine.delete_source(workspace, source)
        return f"🗑️ Deleted source `{info.name}` ({info.passages} passages)."

    await respond(bot, interaction, work, ephemeral=False)
