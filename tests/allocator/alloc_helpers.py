"""Shared helpers for the allocator tests (a unique module name: tests/shelter has its own).

Small factories for hand-built nights. SPEC is the allocation contract's copy kept with the
tests (spec/: allocation.md, the worked example and the schemas), so a clone alone runs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from allocator import Night, Result

SPEC = Path(__file__).resolve().parent / "spec"


def make_night(beds: list[Any], requests: list[Any], **extra: Any) -> Night:
    """A night from compact JSON-like dicts; beds may be given as "site/bed" strings."""
    bed_dicts = []
    for bed in beds:
        if isinstance(bed, str):
            site, bed_id = bed.split("/")
            bed = {"id": bed_id, "site": site}
        bed_dicts.append(bed)
    return Night.from_json({"night": "2026-11-25", "beds": bed_dicts, "requests": requests,
                            **extra})


def placed(result: Result) -> dict[str, str]:
    """person -> bed of a result."""
    return result.bed_of


def reasons(result: Result) -> dict[str, str]:
    """person -> turn-away reason of a result."""
    return {t.person: t.reason for t in result.turned_away}
