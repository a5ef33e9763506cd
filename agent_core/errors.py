"""The error tree. Backends translate library exceptions into these."""

from __future__ import annotations


class MembotError(Exception):
    """Root of every error membot raises on purpose.

    ``hint`` is a short, actionable sentence safe to show to an end user.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.user_message()

    def user_message(self) -> str:
        """The text an adapter may show a user (never a traceback, never a secret)."""
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigError(MembotError):
    """A setting is missing or invalid. ``key`` names it."""

    def __init__(self, message: str, *, key: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.key = key


class LLMError(MembotError):
    """The chat model endpoint failed (unreachable, auth, rate limit after retries...)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.retryable = retryable


class ContextWindowExceededError(LLMError):
    """The provider refused the request because the prompt is too long."""


class ModelBehaviorError(MembotError):
    """The model produced output that cannot be used even after recovery."""


class ToolError(MembotError):
    """A tool could not do what was asked; the message goes back to the model."""


class StorageError(MembotError):
    """SQLite or Milvus failed, or their contents do not match what is expected."""


class EmbeddingMismatchError(StorageError):
    """The archive was built with another embedding model or dimension."""


class IngestError(MembotError):
    """A document could not be ingested. ``reason`` is a short machine-readable code."""

    def __init__(self, message: str, *, reason: str, filename: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.filename = filename


class NotFoundError(MembotError):
    """A named agent, source or message does not exist (or is not visible to the caller)."""


class PermissionDeniedError(MembotError):
    """The caller may not do this (e.g. delete a workspace's source)."""
