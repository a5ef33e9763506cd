"""Markdown -> mrkdwn conversion and splitting under Slack's limits."""

from __future__ import annotations

import pytest

from adapters.slack_bot.mrkdwn import split_mrkdwn, to_mrkdwn


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("**bold** and __also__", "*bold* and *also*"),
        ("*italic* and _too_", "_italic_ and _too_"),
        ("~~gone~~", "~gone~"),
        ("# Title\n## Sub **x**", "*Title*\n*Sub x*"),
        ("- a\n* b\n  + c\n1. d", "• a\n• b\n  • c\n1. d"),
        ("[docs](https://x.org/?a=1&b=2)", "<https://x.org/?a=1&b=2|docs>"),
        ("see https://x.org/page.", "see <https://x.org/page>."),
        ("[local](file.txt)", "local (file.txt)"),
        ("> quoted", "> quoted"),
        ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
        ("ping <!channel> and <@U123ABC>", "ping &lt;!channel&gt; and <@U123ABC>"),
        ("`**x** < y`", "`**x** &lt; y`"),
        ("```python\nif a < b:\n    **no**\n```", "```\nif a &lt; b:\n    **no**\n```"),
    ],
)
def test_to_mrkdwn(markdown: str, mrkdwn: str) -> None:
    assert to_mrkdwn(markdown) == mrkdwn


def test_split_keeps_short_text_whole_and_drops_blank() -> None:
    assert split_mrkdwn("hello") == ["hello"]
    assert split_mrkdwn("  \n ") == []


def test_split_prefers_paragraphs_and_respects_the_limit() -> None:
    text = "\n\n".join(f"para {i} " + "word " * 40 for i in range(10))
    chunks = split_mrkdwn(text, 500)
    assert all(len(c) <= 500 for c in chunks)
    assert all(c.startswith("para ") for c in chunks)
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())


def test_split_code_block_is_closed_and_reopened() -> None:
    code = "```\n" + "\n".join(f"line {i}" for i in range(300)) + "\n```"
    chunks = split_mrkdwn(code, 400)
    assert len(chunks) > 3
    for c in chunks:
        assert len(c) <= 400
        assert c.startswith("```") and c.endswith("```")


def test_split_never_cuts_a_link_or_an_entity() -> None:
    link = "<https://example.com/" + "a" * 80 + "|label>"
    text = ("x" * 95 + " " + link + " &amp; ") * 5
    for chunk in split_mrkdwn(text, 150):
        assert chunk.count("<") == chunk.count(">")
        assert "&am" not in chunk.replace("&amp;", "")


def test_split_rejects_a_tiny_limit() -> None:
    with pytest.raises(ValueError, match="at least 40"):
        split_mrkdwn("text", 10)
