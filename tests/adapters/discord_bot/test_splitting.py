"""Splitting replies at Discord's limit on natural boundaries, never breaking a code fence."""

from __future__ import annotations

import random

import pytest

from adapters.discord_bot.splitting import split_message


def words(text: str) -> list[str]:
    return [w for w in text.split() if not w.startswith("```")]


def test_short_text_is_one_chunk_and_blank_is_none() -> None:
    assert split_message("hello\n\nworld") == ["hello\n\nworld"]
    assert split_message("   \n ") == []


def test_paragraph_boundaries_are_preferred() -> None:
    first, second = "a" * 1200, "b" * 1200
    assert split_message(f"{first}\n\n{second}") == [first, second]


def test_long_paragraph_splits_at_sentences() -> None:
    sentence = "This sentence is exactly long enough to matter here. "
    text = (sentence * 60).strip()
    chunks = split_message(text)
    assert len(chunks) == 2
    assert all(c.endswith(".") for c in chunks)
    assert words(" ".join(chunks)) == words(text)


def test_a_word_longer_than_the_limit_is_cut() -> None:
    chunks = split_message("x" * 4500, limit=2000)
    assert [len(c) for c in chunks] == [2000, 2000, 500]


def test_code_block_split_is_closed_and_reopened_with_its_language() -> None:
    body = "\n".join(f"let x{i} = {i};" for i in range(400))
    chunks = split_message(f"Intro.\n```rust\n{body}\n```\nOutro.")
    code_chunks = [c for c in chunks if "let x" in c]
    assert len(code_chunks) >= 3
    for chunk in code_chunks:
        assert chunk.count("```") == 2
        assert "```rust\n" in chunk
        assert chunk.rstrip().endswith("```") or chunk.endswith("Outro.")
    joined = "\n".join(chunks)
    assert all(f"let x{i} = {i};" in joined for i in range(400))


def test_unclosed_fence_is_closed() -> None:
    assert split_message("```\nprint(1)") == ["```\nprint(1)\n```"]


@pytest.mark.parametrize("seed", range(20))
def test_random_markdown_respects_the_limit_and_keeps_every_word(seed: int) -> None:
    rng = random.Random(seed)
    parts = []
    for _ in range(rng.randint(5, 40)):
        if rng.random() < 0.3:
            lines = [
                f"code_{rng.randint(0, 9999)}()" * rng.randint(1, 5)
                for _ in range(rng.randint(1, 120))
            ]
            parts.append("```py\n" + "\n".join(lines) + "\n```")
        else:
            parts.append(" ".join(f"w{rng.randint(0, 99999)}." for _ in range(rng.randint(1, 500))))
    text = "\n\n".join(parts)
    limit = rng.choice([200, 500, 2000])
    chunks = split_message(text, limit=limit)
    assert all(len(c) <= limit for c in chunks)
    assert all(c.count("```") % 2 == 0 for c in chunks)
    assert words(" ".join(chunks)) == words(text)


def test_tiny_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        split_message("hello", limit=5)
