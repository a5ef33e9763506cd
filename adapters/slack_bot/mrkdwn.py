"""Markdown from the model -> Slack mrkdwn, and splitting under Slack's message limits."""

from __future__ import annotations

import re

from adapters.slack_bot.settings import SLACK_TEXT_LIMIT

_FENCE = re.compile(r"^```[^\n`]*\n?(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_IMAGE_OR_LINK = re.compile(r"!?\[([^\]\n]*)\]\((\S+?)(?:\s+\"[^\"]*\")?\)")
_SLACK_TOKEN = re.compile(r"<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+(?:\|[^<>\n]*)?|https?://[^<>\s]+)>")
_BARE_URL = re.compile(r"https?://[^\s<>()\[\]]+[^\s<>()\[\].,;:!?'\"]")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+", re.MULTILINE)
_QUOTE = re.compile(r"^[ \t]{0,3}>[ \t]?", re.MULTILINE)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![*\w])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_HOLE = re.compile("\x00(\\d+)\x00")
_BOLD_MARK = "\x01"
_QUOTE_MARK = "\x02"


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """Convert the model's Markdown into Slack mrkdwn.

    Bold, italics, strike-through, headings, bullet lists, links, images, block quotes
    and code (inline and fenced, whose language tag Slack does not support) are
    converted; ``&``, ``<`` and ``>`` are escaped everywhere except in user/channel
    mentions and links, so the model can never ping ``@channel``.

    Args:
        markdown: text as the model wrote it.

    Returns:
        The same text in Slack's mrkdwn.
    """
    holes: list[str] = []

    def keep(value: str) -> str:
        holes.append(value)
        return f"\x00{len(holes) - 1}\x00"

    text = _FENCE.sub(lambda m: keep("```\n" + escape(m.group(1).rstrip("\n")) + "\n```"), markdown)
    text = _INLINE_CODE.sub(lambda m: keep(escape(m.group(0))), text)
    text = _IMAGE_OR_LINK.sub(lambda m: keep(_link(m.group(2), m.group(1))), text)
    text = _SLACK_TOKEN.sub(lambda m: keep(m.group(0)), text)
    text = _BARE_URL.sub(lambda m: keep(f"<{m.group(0)}>"), text)
    text = _QUOTE.sub(_QUOTE_MARK, text)
    text = escape(text).replace(_QUOTE_MARK, "> ")
    text = _HEADING.sub(lambda m: f"{_BOLD_MARK}{_strip_bold(m.group(1))}{_BOLD_MARK}", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(2)}{_BOLD_MARK}", text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text)
    text = text.replace(_BOLD_MARK, "*")
    return _HOLE.sub(lambda m: holes[int(m.group(1))], text)


def _link(url: str, label: str) -> str:
    if not url.startswith(("http://", "https://", "mailto:")):
        return escape(f"{label} ({url})" if label else url)
    label = label.replace("|", "¦").strip()
    safe_url = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{safe_url}|{escape(label)}>" if label else f"<{safe_url}>"


def _strip_bold(text: str) -> str:
    return re.sub(r"\*\*|__", "", text)


def split_mrkdwn(text: str, limit: int = SLACK_TEXT_LIMIT) -> list[str]:
    """Split mrkdwn into messages of at most ``limit`` characters.

    Cuts fall on paragraph, then line, then word boundaries, never inside a link or an
    escaped entity; a code block that must be cut is closed at the end of one message
    and reopened at the start of the next, so every message renders on its own.

    Args:
        text: mrkdwn text (see ``to_mrkdwn``).
        limit: the longest message allowed.

    Returns:
        The messages in order; empty if ``text`` is blank.

    Raises:
        ValueError: if ``limit`` is too small to be useful.
    """
    if limit < 40:
        raise ValueError(f"limit must be at least 40 characters, not {limit}")
    chunks: list[str] = []
    rest = text.strip()
    reopen = False
    while rest:
        if reopen:
            rest = "```\n" + rest
        if len(rest) <= limit:
            chunks.append(rest)
            break
        cut = _cut_point(rest, limit - 4)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip("\n ")
        reopen = head.count("```") % 2 == 1
        chunks.append(head + "\n```" if reopen else head)
    return [c for c in chunks if c.strip() and c.strip() != "```\n```"]


def _cut_point(text: str, limit: int) -> int:
    window = text[: limit + 1]
    for sep in ("\n\n", "\n", " "):
        at = window.rfind(sep, limit // 3)
        if at > 0 and _safe(text, at):
            return at
    at = limit
    while at > limit // 2 and not _safe(text, at):
        at -= 1
    return at if at > limit // 2 else limit


def _safe(text: str, at: int) -> bool:
    """Whether cutting at ``at`` keeps links (``<...>``) and entities (``&amp;``) whole."""
    before = text[:at]
    if before.rfind("<") > before.rfind(">"):
        return False
    amp = before.rfind("&", max(0, at - 5))
    return amp < 0 or ";" in before[amp:]
