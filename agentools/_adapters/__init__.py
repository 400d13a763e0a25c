"""Model API adapters: the wire format behind one seam (``base.ModelAPI``).

``ChatCompletions`` is the one in use; see ``base`` for what another adapter provides.
"""

from .base import Accumulator, Decoding, Failure, Limits, ModelAnswer, ModelAPI, ModelRequest
from .chat_completions import ChatCompletions

__all__ = [
    "Accumulator",
    "ChatCompletions",
    "Decoding",
    "Failure",
    "Limits",
    "ModelAPI",
    "ModelAnswer",
    "ModelRequest",
]
