"""The entry point the CLI and the web application share: ``solve(night, ...) -> Result``."""

from __future__ import annotations

import time
from typing import Mapping

from allocator.gcpause import paused_gc
from allocator.layout import prepare
from allocator.model import NeedModel
from allocator.problem import InputError, Night
from allocator.result import Result, Status
from allocator.rules import build_result, first_come


def solve(night: Night, *, rule: str = "need", time_limit: float = 10.0,
          fixed: Mapping[str, str] | None = None) -> Result:
    """Decide tonight's beds under ``rule`` ("need" or "first-come").

    ``fixed`` maps people already confirmed in a bed tonight to that bed (late arrivals):
    they are not moved and count as placed. A time limit is not an error: the best placement
    found is returned with status ``feasible``. Raises InputError for an unknown rule, a bad
    ``fixed`` mapping or a non-positive time limit.
    """
    if rule not in ("need", "first-come"):
        raise InputError(f"unknown rule {rule!r} (use need or first-come)", "rule")
    if not time_limit > 0:
        raise InputError(f"time limit must be positive, got {time_limit!r}", "time_limit")
    start = time.perf_counter()
    with paused_gc():
        prep = prepare(night, fixed)
        bed_of = {p: b for p, (b, _) in prep.placed.items()}
        status = Status.OPTIMAL
        if rule == "first-come":
            bed_of = first_come(prep)
        else:
            model = NeedModel(prep, time_limit)
            bed_of.update(model.solve())
            if not model.proven:
                status = Status.FEASIBLE
        return build_result(prep, bed_of, rule, status, start)
