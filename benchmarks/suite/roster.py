"""Every contender of the suite: the SDK's loops, agentools', and the peers installed here."""

from __future__ import annotations

from . import agentools_runs, peers, sdk
from .contenders import Contender


def all_contenders() -> tuple[list[Contender], list[str]]:
    """Every contender that can run here, and a reason for each one that cannot."""
    contenders = [*sdk.contenders(), *agentools_runs.contenders()]
    skipped: list[str] = []
    for contender_or_reason in peers.contenders():
        if isinstance(contender_or_reason, str):
            skipped.append(contender_or_reason)
        else:
            contenders.append(contender_or_reason)
    return contenders, skipped
