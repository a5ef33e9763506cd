"""membot's engine: MemGPT-style agents that manage their own memory.

Nothing in this package knows about Discord, Slack or the process that hosts it;
adapters talk to :class:`agent_core.engine.Engine` only.
"""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"
