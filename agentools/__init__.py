"""agentools: the assistant loop (prompt -> model -> tool calls -> results -> ... -> answer), once.

The loop is an I/O-free state machine (``agentools._core``) driven by a blocking runner
(``Assistant.run``, sync ``openai.OpenAI``, no event loop) and an asyncio runner
(``Assistant.arun``, ``openai.AsyncOpenAI``). Subclass ``Hooks`` to follow a response as it
streams, or iterate ``Assistant.response_events()``.
"""

from ._converter import HistoryError
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
    ResponseTooLarge,
    RunCancelled,
    SettingsError,
    ToolDefinitionError,
    ToolErrorsExceeded,
    ToolTimeoutError,
    UnknownSettingError,
    UnknownToolError,
)
from ._schema import ArgumentsError, SchemaError
from ._validate import MISSING_TOOL_RESULT, HistoryProblem, repair_history, validate_history
from .assistant import Assistant, ToolContext
from .calls import PartialToolCall, ToolCall, ToolResult
from .cancel import CancelToken
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
from .settings import Settings
from .streaming import ArgumentSnapshot, ArgumentStream, ArgumentStreamClosed
from .tools import FunctionTool, Toolkit, ToolRegistry, function_tool

__all__ = [
    "AgentoolsError",
    "ArgumentSnapshot",
    "ArgumentStream",
    "ArgumentStreamClosed",
    "ArgumentsError",
    "Assistant",
    "AssistantMessage",
    "AsyncHookError",
    "CancelToken",
    "ContentFilterError",
    "DeveloperMessage",
    "FunctionTool",
    "History",
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
    "ResponseTooLarge",
    "RunCancelled",
    "SchemaError",
    "Settings",
    "SettingsError",
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
