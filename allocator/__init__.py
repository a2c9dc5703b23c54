"""Emergency-shelter bed allocation core: one night in, who sleeps where out.

Pure Python and OR-Tools; imports nothing from the web application. The contract is
``allocation.md`` (shipped schemas in ``allocator/schemas``)::

    from allocator import Night, solve
    result = solve(Night.from_json(text), rule="need", time_limit=10.0)
"""

from allocator.problem import Ban, Bed, Hold, InputError, Night, Policy, Request, Site
from allocator.result import Assignment, Result, Status, TurnAway
from allocator.api import solve

__all__ = ["Assignment", "Ban", "Bed", "Hold", "InputError", "Night", "Policy", "Request",
           "Result", "Site", "Status", "TurnAway", "solve"]
