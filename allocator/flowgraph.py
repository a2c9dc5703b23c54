"""A thin builder around OR-Tools' SimpleMinCostFlow: numbered nodes, arcs in plain lists.

What the nodes mean (bed classes, entries, people) is kept by the callers
(:class:`allocator.network.ClassGraph` and the two stages of the need rule).
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import min_cost_flow

SOURCE, SINK = 0, 1


class FlowError(RuntimeError):
    """The flow solver refused the model (never expected; it signals a bug, not bad input)."""


class CostRangeError(FlowError):
    """Costs too large for OR-Tools' cost scaling on this many nodes (use smaller costs)."""


class FlowGraph:
    """Nodes are numbers handed out by :meth:`add_node`; arcs are numbered in creation order."""

    def __init__(self) -> None:
        self.n_nodes = 2  # SOURCE and SINK
        self.tails: list[int] = []
        self.heads: list[int] = []
        self.caps: list[int] = []
        self.costs: list[int] = []
        self._flows: list[int] | None = None

    def add_node(self) -> int:
        self.n_nodes += 1
        return self.n_nodes - 1

    def arc(self, tail: int, head: int, cap: int, cost: int = 0) -> int:
        self.tails.append(tail)
        self.heads.append(head)
        self.caps.append(cap)
        self.costs.append(cost)
        return len(self.tails) - 1

    def solve(self, supply: int) -> bool:
        """Send ``supply`` units source -> sink at minimum cost; False when impossible."""
        smcf = min_cost_flow.SimpleMinCostFlow()
        if self.tails:
            smcf.add_arcs_with_capacity_and_unit_cost(
                np.asarray(self.tails, dtype=np.int32), np.asarray(self.heads, dtype=np.int32),
                np.asarray(self.caps, dtype=np.int64), np.asarray(self.costs, dtype=np.int64))
        supplies = np.zeros(self.n_nodes, dtype=np.int64)
        supplies[SOURCE], supplies[SINK] = supply, -supply
        smcf.set_nodes_supplies(np.arange(self.n_nodes, dtype=np.int32), supplies)
        status = smcf.solve()
        if status == smcf.INFEASIBLE:
            return False
        if status == smcf.BAD_COST_RANGE:
            raise CostRangeError(f"min-cost flow failed: {status}")
        if status != smcf.OPTIMAL:
            raise FlowError(f"min-cost flow failed: {status}")
        self._flows = smcf.flows(np.arange(len(self.tails), dtype=np.int32)).tolist() \
            if self.tails else []
        return True

    def flow_list(self) -> list[int]:
        """The flow on every arc, by arc number (after a successful :meth:`solve`)."""
        assert self._flows is not None
        return self._flows

    def flow(self, arc: int) -> int:
        assert self._flows is not None
        return self._flows[arc]
