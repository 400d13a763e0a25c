"""The loop's core: no I/O, no threads, no event loop.

``Machine`` holds every decision of a run and its transition table; the runners
(``agentools._runners``) carry out the actions it names (``steps``) and feed back what happened.
"""

from .machine import CONTINUE_PROMPT, CUT_CALL_MESSAGE, EMPTY_ANSWER_PROMPT, Machine
from .steps import NEED_INPUT, CallModel, Decide, Finished, RunTools, StartConsumers, Step
from .table import TRANSITIONS, State, transitions_table

__all__ = [
    "CONTINUE_PROMPT",
    "CUT_CALL_MESSAGE",
    "EMPTY_ANSWER_PROMPT",
    "NEED_INPUT",
    "TRANSITIONS",
    "CallModel",
    "Decide",
    "Finished",
    "Machine",
    "RunTools",
    "StartConsumers",
    "State",
    "Step",
    "transitions_table",
]
