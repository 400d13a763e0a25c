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
    MaxTurnsExceeded,
    ModelProtocolError,
    UsageError,
)
from .assistant import Assistant
from .calls import PartialToolCall, ToolCallRequest, ToolResult
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
from .tools import FunctionTool, Toolset, function_tool

__all__ = [
    "AgentoolsError",
    "Assistant",
    "AssistantMessage",
    "AsyncHookError",
    "DeveloperMessage",
    "FunctionTool",
    "History",
    "HistoryError",
    "Hooks",
    "MaxTurnsExceeded",
    "Message",
    "ModelProtocolError",
    "PartialToolCall",
    "SystemMessage",
    "ToolCall",
    "ToolCallRequest",
    "ToolMessage",
    "ToolResult",
    "Toolset",
    "Usage",
    "UsageError",
    "UserMessage",
    "function_tool",
]
