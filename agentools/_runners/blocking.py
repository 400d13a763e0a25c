"""The blocking runner: the machine driven with ``openai.OpenAI``, and no event loop anywhere.

It works wherever a plain function call works: a script, a Django sync view, a worker thread, a
Jupyter cell whose thread already runs a loop. It does only what the machine's steps name: hooks
called in this thread; the model called and what comes back fed in; consumers and tools started
in threads (``threads``); tools waited for within their timeouts. A cancel wakes this thread from
whatever it waits for: a read of the stream (its socket is shut down) or the tools.
"""

from __future__ import annotations

from collections.abc import Generator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from functools import partial
from typing import cast

from openai import OpenAI

from .._core import NEED_INPUT, CallModel, Decide, Machine, RunTools, StartConsumers
from .._core.batch import ToolBatch
from .._core.feeds import Consumer
from .._core.tool_calls import Invocation
from .._dispatch import HookCalls
from ..cancel import CancelToken
from ..events import EVENT_TYPES, Event
from .threads import Threads, Work, run_here

__all__ = ["BlockingRunner"]


class BlockingRunner:
    def __init__(self, machine: Machine, client: OpenAI, hooks: HookCalls, cancel: CancelToken):
        self.machine, self.client, self.hooks, self.cancel = machine, client, hooks, cancel
        self.jobs = Threads()
        self.consumers: dict[Consumer, Work] = {}

    def events(self) -> Generator[Event, None, None]:
        """Drive the machine to the end, yielding every event once its hook has seen it."""
        machine, hooks = self.machine, self.hooks
        source: Generator[None, None, None] = _idle()
        try:
            while True:
                step = machine.next_step()
                kind = type(step)
                if step is NEED_INPUT:
                    next(source)
                elif kind in EVENT_TYPES or kind is Decide:  # a decision: an event, answered
                    event = cast(Decide, step).event if kind is Decide else cast(Event, step)
                    call = hooks.get(type(event))
                    answer = None if call is None else call(event)
                    if kind is Decide:
                        machine.decide(answer)
                    yield event
                elif isinstance(step, CallModel):
                    source = self._call_model(step)
                elif isinstance(step, RunTools):
                    source = self._run_tools(step)
                elif isinstance(step, StartConsumers):
                    for consumer in step.consumers:
                        self.consumers[consumer] = self.jobs.start(consumer)
                else:  # Finished
                    return
        except Exception as error:
            raise machine.fail(error)  # noqa: B904 - the machine says what it becomes
        finally:
            source.close()
            machine.close()
            wait(self.jobs.running())
            self.jobs.join()

    def _call_model(self, step: CallModel) -> Generator[None, None, None]:
        api = self.machine.api
        if step.delay and self.cancel.wait(step.delay):
            yield  # cancelled while waiting: the machine sees it at its next step
        try:
            with (
                api.call(
                    self.client, step.request, stream=step.stream, decoding=step.decoding
                ) as chunks,
                self.cancel.watching(partial(api.interrupt, chunks)),
            ):
                for chunk in chunks:
                    self.machine.receive_chunk(chunk)
                    yield
        except Exception as error:
            self.machine.receive_failure(error)
        else:
            self.machine.receive_end()
        yield

    def _run_tools(self, step: RunTools) -> Generator[None, None, None]:
        wait([self.consumers[consumer] for consumer in step.after])
        batch = ToolBatch(self.machine, step, partial(self._start, only=len(step.invocations) == 1))
        woken: Future[None] = Future()
        forget = self.cancel.on_cancel(partial(woken.set_result, None))
        try:
            while batch.pending:
                timeout = batch.timeout()
                done, _ = wait([*batch.pending, woken], timeout, return_when=FIRST_COMPLETED)
                for future, late in batch.settle(done):
                    if late:
                        future.stop()
                    yield
                if woken.done():
                    yield  # the machine sees the cancel at its next step
            self.machine.receive_tools_done()
            yield
        finally:
            forget()
            # Left early (a hook or a raise_errors tool raised, the run was cancelled): async calls
            # are cancelled, sync ones (threads cannot be) waited for, each up to its deadline.
            unbounded, bounded, last = batch.leftovers()
            for future in [*unbounded, *bounded]:
                future.stop()
            wait(unbounded)
            wait(bounded, timeout=last)

    def _start(self, invocation: Invocation, *, only: bool) -> Work:
        """A streaming tool's running consumer; a lone sync call without a timeout, run in this
        thread; any other call, in a thread of its own."""
        if invocation.consumer is not None:
            return self.consumers[invocation.consumer]
        if only and not invocation.is_async and invocation.timeout is None:
            return run_here(invocation)
        return self.jobs.start(invocation)


def _idle() -> Generator[None, None, None]:
    yield from ()
