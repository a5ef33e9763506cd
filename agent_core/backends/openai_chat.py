"""Chat completions from any OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, ...)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from agent_core.domain import ChatMessage, Completion, ToolCall, Usage
from agent_core.errors import ContextWindowExceededError, LLMError

_log = logging.getLogger(__name__)

_OVERFLOW_MARKERS = ("context_length_exceeded", "maximum context length", "context length",
                     "too many tokens", "prompt is too long", "exceeds the context")


def _to_wire(message: ChatMessage) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        wire["tool_calls"] = [{"id": c.id, "type": "function",
                               "function": {"name": c.name, "arguments": c.arguments}}
                              for c in message.tool_calls]
    if message.tool_call_id:
        wire["tool_call_id"] = message.tool_call_id
    if message.role == "tool" and message.name:
        wire["name"] = message.name
    return wire


def _from_wire(response: Any) -> Completion:
    if not getattr(response, "choices", None):
        raise LLMError("The model endpoint returned no choices.", retryable=True)
    choice = response.choices[0]
    msg = choice.message
    calls = tuple(ToolCall(c.id or "", c.function.name or "", c.function.arguments or "")
                  for c in (msg.tool_calls or []) if getattr(c, "function", None))
    usage = None
    if response.usage is not None:
        usage = Usage(response.usage.prompt_tokens or 0, response.usage.completion_tokens or 0,
                      response.usage.total_tokens or 0)
    return Completion(ChatMessage("assistant", msg.content, calls), usage, choice.finish_reason)


class OpenAIChatModel:
    """``ChatModel`` over ``openai.AsyncOpenAI`` with retries and readable errors."""

    def __init__(self, model: str, *, api_key: str | None, base_url: str | None,
                 azure_api_version: str | None = None, timeout: float = 120.0,
                 max_retries: int = 4, retry_base_delay: float = 0.5) -> None:
        self.model = model
        self.base_url = base_url or "https://api.openai.com/v1"
        self.max_retries = max_retries
        self.retry_base_delay = retry_base_delay
        key = api_key or "not-needed"
        self._client: openai.AsyncOpenAI
        if azure_api_version:
            self._client = openai.AsyncAzureOpenAI(
                api_key=key, azure_endpoint=base_url or "", api_version=azure_api_version,
                timeout=timeout, max_retries=0)
        else:
            self._client = openai.AsyncOpenAI(api_key=key, base_url=base_url, timeout=timeout,
                                              max_retries=0)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.close()

    async def complete(self, messages: Sequence[ChatMessage],
                       tools: Sequence[dict[str, Any]]) -> Completion:
        """One completion; retries 429, 5xx and timeouts with exponential backoff."""
        request: dict[str, Any] = {"model": self.model,
                                   "messages": [_to_wire(m) for m in messages]}
        if tools:
            request["tools"] = list(tools)
            request["tool_choice"] = "auto"
        for attempt in range(self.max_retries + 1):
            try:
                # The plain POST skips the SDK's per-call re-validation of the request
                # body (~10 ms of CPU for a 30-message window); the response is parsed.
                response = await self._client.post("/chat/completions", body=request,
                                                   cast_to=ChatCompletion)
                return _from_wire(response)
            except Exception as exc:
                error = self._translate(exc)
                if not error.retryable or attempt == self.max_retries:
                    raise error from exc
                delay = self._delay(exc, attempt)
                _log.warning("model call failed (%s); retry %d/%d in %.1f s", error.message,
                             attempt + 1, self.max_retries, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _delay(self, exc: Exception, attempt: int) -> float:
        response = getattr(exc, "response", None)
        header = response.headers.get("retry-after") if response is not None else None
        if header:
            try:
                return min(float(header), 30.0)
            except ValueError:
                pass
        backoff: float = self.retry_base_delay * (2**attempt) * (0.75 + random.random() / 2)
        return backoff

    def _translate(self, exc: Exception) -> LLMError:
        where = self.base_url
        if isinstance(exc, LLMError):
            return exc
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(f"The model at {where} did not answer in time.", retryable=True)
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(f"Cannot reach the model endpoint at {where}.", retryable=True,
                            hint="Check OPENAI_BASE_URL and that the server is running.")
        if isinstance(exc, openai.AuthenticationError):
            return LLMError(f"The model endpoint at {where} refused the API key.", status=401,
                            hint="Set a valid OPENAI_API_KEY.")
        if isinstance(exc, openai.NotFoundError):
            return LLMError(f"The model '{self.model}' was not found at {where}.", status=404,
                            hint="Set MEMBOT_MODEL to a model the endpoint serves.")
        if isinstance(exc, openai.RateLimitError):
            return LLMError("The model endpoint is rate limiting requests.", status=429,
                            retryable=True)
        if isinstance(exc, openai.APIStatusError):
            text = str(exc).lower()
            if exc.status_code in (400, 413, 422) and any(m in text for m in _OVERFLOW_MARKERS):
                return ContextWindowExceededError("The prompt is longer than the model's "
                                                  "context window.", status=exc.status_code)
            retryable = exc.status_code >= 500 or exc.status_code == 408
            return LLMError(f"The model endpoint answered {exc.status_code}: "
                            f"{_short(exc)}", status=exc.status_code, retryable=retryable)
        _log.exception("unexpected error from the model client")
        return LLMError(f"The model call failed: {type(exc).__name__}.")


def _short(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
    return str(exc)[:300]
