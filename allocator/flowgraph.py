"""A thin builder around OR-Tools' SimpleMinCostFlow with named nodes.

The need model builds one graph per solve: source -> people or groups of interchangeable
people -> fan-out nodes (one per distinct set of eligible bed classes) -> bed classes -> sink.
"""

from __future__ import annotations

from typing import Hashable

import numpy as np
from ortools.graph.python import min_cost_flow

SOURCE, SINK = 0, 1


class FlowError(RuntimeError):
    """The flow solver refused the model (never expected; it signals a bug, not bad input)."""


class FlowGraph:
    """Nodes are created on first use from a hashable name; arcs are kept in plain lists."""

    def __init__(self) -> None:
        self.ids: dict[Hashable, int] = {"source": SOURCE, "sink": SINK}
        self.tails: list[int] = []
        self.heads: list[int] = []
        self.caps: list[int] = []
        self.costs: list[int] = []
        self.flows: np.ndarray | None = None
        self.fan_arcs: list[tuple[int, int, int]] = []  # (arc, fan node, class index)

    def node(self, name: Hashable) -> int:
        found = self.ids.get(name)
        if found is None:
            found = self.ids[name] = len(self.ids)
        return found

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
        supplies = np.zeros(len(self.ids), dtype=np.int64)
        supplies[SOURCE], supplies[SINK] = supply, -supply
        smcf.set_nodes_supplies(np.arange(len(self.ids), dtype=np.int32), supplies)
        status = smcf.solve()
        if status == smcf.INFEASIBLE:
            return False
        if status != smcf.OPTIMAL:
            raise FlowError(f"min-cost flow failed: {status}")
        self.flows = smcf.flows(np.arange(len(self.tails), dtype=np.int32)) if self.tails \
            else np.zeros(0, dtype=np.int64)
        return True

    def used_fan_arcs(self) -> list[tuple[int, int, int]]:
        """(fan node, class index, flow) for every fan-out arc that carries flow."""
        if not self.fan_arcs:
            return []
        assert self.flows is not None
        arcs = np.asarray([a for a, _, _ in self.fan_arcs], dtype=np.int64)
        carried = self.flows[arcs]
        return [(self.fan_arcs[i][1], self.fan_arcs[i][2], int(carried[i]))
                for i in np.flatnonzero(carried)]

    def flow(self, arc: int) -> int:
        assert self.flows is not None
        return int(self.flows[arc])
