"""agentools: the assistant loop (prompt -> model -> tool calls -> results -> ... -> answer), once.

The loop is an I/O-free state machine (``agentools._core``) driven by a blocking runner
(``Assistant.run``, sync ``openai.OpenAI``, no event loop) and an asyncio runner
(``Assistant.arun``, ``openai.AsyncOpenAI``). Subclass ``Hooks`` to follow a response as it
streams, or iterate ``Assistant.response_events()``.
"""

from typing import TYPE_CHECKING

from ._converter import HistoryError
from ._core import CONTINUE_PROMPT, CUT_CALL_MESSAGE, EMPTY_ANSWER_PROMPT
from ._errors import (
    AgentoolsError,
    AsyncHookError,
    ContentFilterError,
    HookError,
    MalformedArgumentsError,
    MaxTokensExceeded,
    MaxTurnsExceeded,
    MisuseError,
    ModelProtocolError,
    OutputError,
    OutputRefused,
    OutputValidationError,
    ResponseTooLarge,
    RunCancelled,
    RunPaused,
    SettingsError,
    StreamError,
    ToolDefinitionError,
    ToolDenied,
    ToolErrorsExceeded,
    ToolTimeoutError,
    UnknownSettingError,
    UnknownToolError,
    UsageLimitExceeded,
)
from ._lazy import lazy_names
from ._schema import ArgumentsError, SchemaError
from .approval import PAUSE, Allow, Approval, Deny, PendingApprovals
from .assistant import Assistant, RunResult, ToolContext
from .calls import PartialToolCall, ToolCall, ToolResult
from .cancel import CancelToken
from .content import Audio, Image, Prompt
from .history import History
from .hooks import Hooks
from .messages import (
    AssistantMessage,
    DeveloperMessage,
    Message,
    SystemMessage,
    TokenUsage,
    ToolCallRecord,
    ToolMessage,
    UserMessage,
)
from .model_call import ModelCallRequest, StopRun
from .output import PartialOutput
from .settings import Settings
from .streaming import ArgumentSnapshot, ArgumentStream, ArgumentStreamClosed
from .tools import FunctionTool, Toolkit, ToolRegistry, function_tool

if TYPE_CHECKING:
    from ._validate import MISSING_TOOL_RESULT, HistoryProblem, repair_history, validate_history

_LAZY = {
    name: "._validate"
    for name in ("MISSING_TOOL_RESULT", "HistoryProblem", "repair_history", "validate_history")
}
"""Names imported on first use: checking a stored history is not part of every program's start."""


__getattr__, __dir__ = lazy_names(globals(), _LAZY)


__all__ = [
    "PAUSE",
    "Allow",
    "Approval",
    "Deny",
    "ModelCallRequest",
    "OutputError",
    "OutputRefused",
    "OutputValidationError",
    "PartialOutput",
    "PendingApprovals",
    "RunPaused",
    "RunResult",
    "StopRun",
    "ToolDenied",
    "UsageLimitExceeded",
    "CONTINUE_PROMPT",
    "CUT_CALL_MESSAGE",
    "EMPTY_ANSWER_PROMPT",
    "AgentoolsError",
    "ArgumentSnapshot",
    "ArgumentStream",
    "ArgumentStreamClosed",
    "ArgumentsError",
    "Assistant",
    "AssistantMessage",
    "Audio",
    "AsyncHookError",
    "CancelToken",
    "ContentFilterError",
    "DeveloperMessage",
    "FunctionTool",
    "History",
    "Image",
    "HistoryError",
    "HistoryProblem",
    "HookError",
    "Hooks",
    "MISSING_TOOL_RESULT",
    "MalformedArgumentsError",
    "MaxTokensExceeded",
    "MaxTurnsExceeded",
    "Message",
    "MisuseError",
    "ModelProtocolError",
    "PartialToolCall",
    "Prompt",
    "ResponseTooLarge",
    "RunCancelled",
    "SchemaError",
    "Settings",
    "SettingsError",
    "StreamError",
    "SystemMessage",
    "TokenUsage",
    "ToolCall",
    "ToolCallRecord",
    "ToolContext",
    "ToolDefinitionError",
    "ToolErrorsExceeded",
    "ToolMessage",
    "ToolRegistry",
    "ToolResult",
    "ToolTimeoutError",
    "Toolkit",
    "UnknownSettingError",
    "UnknownToolError",
    "UserMessage",
    "function_tool",
    "repair_history",
    "validate_history",
]
