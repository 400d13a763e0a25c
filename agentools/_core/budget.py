"""The token limits of a run (``max_total_tokens``, ``max_request_tokens``), checked before each
model call.

A call's prompt is not counted until the server reports it, after the call. So the next prompt is
estimated: ``agentools.tokens.estimate_tokens`` of the messages about to be sent, scaled by how
the server's count compared to that estimate for the last call (its tokenizer, its message
overhead). The first call of a run has no report to scale by: it is checked against the bare
estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._errors import UsageLimitExceeded
from ..messages import Message, TokenUsage

__all__ = ["TokenBudget"]


class TokenBudget:
    def __init__(self) -> None:
        self._scale = 1.0
        self._estimate = 0

    def check(
        self,
        messages: Sequence[Message],
        used: TokenUsage,
        *,
        max_total: int | None,
        max_request: int | None,
    ) -> UsageLimitExceeded | None:
        """The limit the call sending ``messages`` would pass, this run having ``used`` these
        tokens; ``None`` if it fits (or there is no limit)."""
        if max_total is None and max_request is None:
            return None
        from ..tokens import estimate_tokens  # only runs with a limit pay for it

        self._estimate = estimate_tokens(messages)
        prompt = round(self._estimate * self._scale)
        if max_request is not None and prompt > max_request:
            return UsageLimitExceeded("max_request_tokens", max_request, prompt)
        if max_total is not None and used.total_tokens + prompt > max_total:
            return UsageLimitExceeded("max_total_tokens", max_total, used.total_tokens + prompt)
        return None

    def reported(self, usage: TokenUsage) -> None:
        """The server's count for the call last checked: the next estimates are scaled by it."""
        if self._estimate > 0 and usage.prompt_tokens > 0:
            self._scale = usage.prompt_tokens / self._estimate
