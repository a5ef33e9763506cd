"""Buttons asking the user to confirm a destructive command."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from adapters.commands import error_text

_log = logging.getLogger(__name__)


class ConfirmView(discord.ui.View):
    """Confirm/Cancel buttons; only the user who asked may press them.

    Args:
        owner_id: the user who ran the command.
        action: what to do on confirm; returns the text that replaces the question.
        confirm_label: the label of the confirm button.
        timeout: seconds after which the question expires and nothing happens.
        track: called with the task handling a click (so shutdown can wait for it).
    """

    def __init__(
        self,
        owner_id: int,
        action: Callable[[], Awaitable[str]],
        *,
        confirm_label: str = "Confirm",
        timeout: float = 120.0,
        track: Callable[[asyncio.Task[Any]], None] | None = None,
    ) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.action = action
        self.origin: discord.Interaction | None = None
        self._track = track
        self.confirm.label = confirm_label

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Refuse clicks from anyone but the user who ran the command."""
        task = asyncio.current_task()
        if self._track is not None and task is not None:
            self._track(task)
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who ran this command can answer it.", ephemeral=True
        )
        return False

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(
        self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]
    ) -> None:
        """Run the action, showing progress then its outcome in place of the question."""
        self.stop()
        await interaction.response.edit_message(content="⏳ Working…", view=None)
        try:
            text = await self.action()
        except Exception as exc:
            _log.warning("confirmed action failed", exc_info=True)
            text = f"⚠️ {error_text(exc)}"
        await interaction.edit_original_response(content=text)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(
        self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]
    ) -> None:
        """Drop the question; nothing changes."""
        self.stop()
        await interaction.response.edit_message(
            content="Cancelled: nothing was changed.", view=None
        )

    async def on_timeout(self) -> None:
        """Tell the user the question expired."""
        if self.origin is None:
            return
        try:
            await self.origin.edit_original_response(
                content="This question expired: nothing was changed.", view=None
            )
        except discord.HTTPException as exc:
            _log.debug("could not expire a confirmation: %s", exc)
