"""What the allocator decided: who sleeps where, who is turned away and why."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping

from allocator.problem import InputError, validate_against_schema

REASONS = ("no_eligible_bed", "capacity", "keep_apart")
RULES = ("need", "first-come")


class Status(str, enum.Enum):
    """``optimal``: the priority objective (level 1) is proven optimal, or the first-come rule
    was applied in full; ``feasible``: a time limit stopped the proof, the placement is valid."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"


@dataclass(frozen=True)
class Assignment:
    """``person`` sleeps in ``bed`` at ``site``; ``hold`` is the pre-booking it honours."""

    person: str
    bed: str
    site: str
    hold: str | None = None


@dataclass(frozen=True)
class TurnAway:
    """``person`` gets no bed; ``reason`` is one of allocation.md's three reasons.

    ``params`` are the facts behind the reason (JSON-safe; see :mod:`allocator.words`), so a
    reader can word it in any language; ``explanation`` is the English sentence."""

    person: str
    reason: str
    explanation: str = ""
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise InputError(f"unknown reason {self.reason!r}", f"turn-away {self.person!r}.reason")


@dataclass(frozen=True)
class Result:
    """The night's outcome under one rule; ``placed_by_need`` maps need (as text) -> placed."""

    night: str
    rule: str
    status: Status
    assignments: tuple[Assignment, ...]
    turned_away: tuple[TurnAway, ...]
    placed_by_need: Mapping[str, int]
    solve_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise InputError(f"unknown rule {self.rule!r}", "rule")
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "assignments", tuple(self.assignments))
        object.__setattr__(self, "turned_away", tuple(self.turned_away))
        object.__setattr__(self, "placed_by_need", dict(self.placed_by_need))
        people = [a.person for a in self.assignments] + [t.person for t in self.turned_away]
        if len(set(people)) != len(people):
            raise InputError("a person appears twice in the result", "assignments")
        beds = [a.bed for a in self.assignments]
        if len(set(beds)) != len(beds):
            raise InputError("a bed is assigned twice", "assignments")

    @property
    def bed_of(self) -> dict[str, str]:
        """person -> bed for everyone placed."""
        return {a.person: a.bed for a in self.assignments}

    def to_json(self, params: bool = False) -> dict[str, Any]:
        """The result as a JSON object matching result.schema.json; ``params`` adds each
        turn-away's params (the schema allows extra fields; the command line leaves them out,
        so its output is the spec's)."""
        return {
            "night": self.night,
            "rule": self.rule,
            "status": self.status.value,
            "assignments": [
                {"person": a.person, "bed": a.bed, "site": a.site,
                 **({"hold": a.hold} if a.hold is not None else {})} for a in self.assignments],
            "turned_away": [
                {"person": t.person, "reason": t.reason,
                 **({"explanation": t.explanation} if t.explanation else {}),
                 **({"params": t.params} if params else {})}
                for t in self.turned_away],
            "placed_by_need": dict(self.placed_by_need),
            "solve_seconds": round(self.solve_seconds, 6),
        }

    @classmethod
    def from_json(cls, obj: str | bytes | Mapping[str, Any]) -> "Result":
        """Read a result back; raises InputError if it does not match result.schema.json."""
        from allocator.jsonio import parse_json

        data = parse_json(obj)
        validate_against_schema(data, "result.schema.json")
        return cls(
            night=data["night"], rule=data["rule"], status=Status(data["status"]),
            assignments=tuple(Assignment(a["person"], a["bed"], a["site"], a.get("hold"))
                              for a in data["assignments"]),
            turned_away=tuple(TurnAway(t["person"], t["reason"], t.get("explanation", ""),
                                       t.get("params") or {})
                              for t in data["turned_away"]),
            placed_by_need=dict(data.get("placed_by_need", {})),
            solve_seconds=float(data.get("solve_seconds", 0.0)),
        )
