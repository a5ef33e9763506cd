"""Block Kit payloads: the ``/sources`` list with Attach/Detach buttons, confirmations."""

from __future__ import annotations

from typing import Any

from adapters.slack_bot.mrkdwn import escape
from agent_core.domain import SourceInfo

ATTACH_ACTION = "membot_attach"
DETACH_ACTION = "membot_detach"
FORGET_ACTION = "membot_forget"

MAX_BLOCKS = 50
"""Slack refuses a message with more blocks than this."""

SECTION_TEXT_LIMIT = 3000
"""Slack refuses a section whose text is longer than this."""

Block = dict[str, Any]


def sources_blocks(
    sources: list[SourceInfo], attached: set[str], attach_command: str
) -> list[Block]:
    """The ``/sources`` message: one section per source with an Attach or Detach button.

    Args:
        sources: the workspace's sources.
        attached: names of the sources attached to the caller's agent.
        attach_command: the attach slash command, named in the hints.

    Returns:
        At most ``MAX_BLOCKS`` blocks; sources that do not fit are counted in a note.
    """
    if not sources:
        hint = (
            "No sources yet. Share a PDF, text or Markdown file with me and it becomes one; "
            f"then `{attach_command} <name>` lets your agent search it."
        )
        return [_section(hint)]
    head = f"*Sources in this workspace* ({len(sources)}; {len(attached)} attached to your agent)"
    blocks: list[Block] = [_section(head), {"type": "divider"}]
    room = MAX_BLOCKS - len(blocks) - 1
    for source in sources[:room]:
        blocks.append(_source_section(source, source.name in attached))
    if len(sources) > room:
        more = len(sources) - room
        blocks.append(_context(f"…and {more} more: use `{attach_command} <name>`."))
    return blocks


def _source_section(source: SourceInfo, is_attached: bool) -> Block:
    files = f"{source.files} file{'s' if source.files != 1 else ''}"
    passages = f"{source.passages} passage{'s' if source.passages != 1 else ''}"
    mark = "✅ " if is_attached else ""
    text = f"{mark}*{escape(source.name)}*  ·  {passages} from {files}"
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": "Detach" if is_attached else "Attach"},
        "action_id": DETACH_ACTION if is_attached else ATTACH_ACTION,
        "value": source.name,
    }
    if not is_attached:
        button["style"] = "primary"
    return {**_section(text), "accessory": button}


def summary_blocks(text: str, sources: list[str]) -> list[Block]:
    """A message (an upload summary) with an Attach button per loaded source (at most 5)."""
    blocks: list[Block] = [_section(text)]
    buttons: list[Block] = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": f"Attach {name}"[:75]},
            "action_id": f"{ATTACH_ACTION}:{i}",
            "value": name,
            "style": "primary",
        }
        for i, name in enumerate(sources[:5])
    ]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


def forget_confirm_blocks(scope_label: str) -> list[Block]:
    """The ``/forget`` prompt: a danger button behind Slack's own confirmation dialog."""
    text = (
        f"This deletes everything {scope_label} agent holds: core memory, every message and "
        "its archival memories. Sources stay in the workspace. This cannot be undone."
    )
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": "Forget everything"},
        "action_id": FORGET_ACTION,
        "value": "forget",
        "style": "danger",
        "confirm": {
            "title": {"type": "plain_text", "text": "Forget everything?"},
            "text": {"type": "mrkdwn", "text": "The agent's memory is deleted for good."},
            "confirm": {"type": "plain_text", "text": "Forget"},
            "deny": {"type": "plain_text", "text": "Cancel"},
            "style": "danger",
        },
    }
    return [_section(text), {"type": "actions", "elements": [button]}]


def _section(text: str) -> Block:
    if len(text) > SECTION_TEXT_LIMIT:
        text = text[: SECTION_TEXT_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
