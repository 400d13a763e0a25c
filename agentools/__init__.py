"""agentools: the assistant loop (prompt -> model -> tool calls -> results -> ... -> answer), once.

The loop is an I/O-free state machine (``agentools._machine``) driven by a blocking runner
(``Assistant.run``, sync ``openai.OpenAI``, no event loop) and an asyncio runner
(``Assistant.arun``, ``openai.AsyncOpenAI``). Subclass ``Hooks`` to follow a response as it
streams, or iterate ``Assistant.response_events()``.
"""

from ._converter import HistoryError
from ._errors import (
    AgentoolsError,
    AsyncHookError,
    ContentFilterError,
    MaxTokensExceeded,
    MaxTurnsExceeded,
    ModelProtocolError,
    ResponseTooLarge,
    RunCancelled,
    ToolErrorsExceeded,
    UsageError,
)
from ._schema import ArgumentsError, SchemaError
from ._validate import MISSING_TOOL_RESULT, HistoryProblem, repair_history, validate_history
from .assistant import Assistant
from .calls import PartialToolCall, ToolCallRequest, ToolResult
from .cancel import CancelToken
from .history import History
from .hooks import Hooks
from .messages import (
    AssistantMessage,
    DeveloperMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
)
from .streaming import ArgumentStream, ArgumentStreamClosed, Snapshot
from .tools import (
    FunctionTool,
    MalformedArgumentsError,
    ToolContext,
    Toolkit,
    Toolset,
    ToolTimeoutError,
    UnknownToolError,
    function_tool,
)

__all__ = [
    "AgentoolsError",
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
    "Hooks",
    "MaxTurnsExceeded",
    "MISSING_TOOL_RESULT",
    "MalformedArgumentsError",
    "MaxTokensExceeded",
    "Message",
    "ModelProtocolError",
    "PartialToolCall",
    "ResponseTooLarge",
    "RunCancelled",
    "SchemaError",
    "Snapshot",
    "SystemMessage",
    "ToolCall",
    "ToolCallRequest",
    "ToolContext",
    "ToolErrorsExceeded",
    "ToolMessage",
    "ToolResult",
    "ToolTimeoutError",
    "Toolkit",
    "Toolset",
    "Usage",
    "UnknownToolError",
    "UsageError",
    "UserMessage",
    "function_tool",
    "repair_history",
    "validate_history",
]
