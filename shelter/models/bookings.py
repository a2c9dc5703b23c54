"""Requests, pre-booking holds, placements and allocation runs for a night.

The database itself guards the invariants (partial unique indexes, on SQLite and
PostgreSQL alike): one active placement per bed per night, one per person per night; one
active hold per bed per night, one per person per night; one open request per person per
night. Code checks too, but only the index holds under concurrency."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shelter.config import instance_city
from shelter.models.accounts import Organisation, User
from shelter.models.base import Base, StrEnum, enum_type, utcnow
from shelter.models.people import Assessment, Person
from shelter.models.sites import Bed, Site


class RequestSource(StrEnum):
    WALK_IN = "walk_in"
    PHONE = "phone"
    PARTNER = "partner"


class RequestStatus(StrEnum):
    WAITING = "waiting"
    PLACED = "placed"
    TURNED_AWAY = "turned_away"
    WITHDRAWN = "withdrawn"


class HoldStatus(StrEnum):
    HELD = "held"
    CLAIMED = "claimed"
    RELEASED = "released"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    # A partner booking no site could take yet: intake confirms a site (then it is held)
    # or refuses it (released). It holds no bed. See README "Partner bookings and what
    # they reveal".
    PENDING = "pending"


class PlacementStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"
    RELEASED = "released"


#: A placement holds its bed (and its person) while proposed, confirmed or checked in.
ACTIVE_PLACEMENT = (PlacementStatus.PROPOSED, PlacementStatus.CONFIRMED, PlacementStatus.CHECKED_IN)
#: A hold holds its bed while it is held (claimed, cancelled, expired, released ones do not).
ACTIVE_HOLD = (HoldStatus.HELD,)
#: A booking still open: holding its bed, or waiting for intake to confirm a site.
OPEN_HOLD = (HoldStatus.HELD, HoldStatus.PENDING)
# The partial unique indexes say the same in SQL (their text must not change: migrations).
ACTIVE_PLACEMENT_WHERE = "status IN (%s)" % ", ".join(f"'{s.value}'" for s in ACTIVE_PLACEMENT)
_ACTIVE_PLACEMENT_SQL = text(ACTIVE_PLACEMENT_WHERE)
_ACTIVE_HOLD_SQL = text("status = '%s'" % HoldStatus.HELD.value)
_PENDING_HOLD_SQL = text("status = '%s'" % HoldStatus.PENDING.value)
_OPEN_REQUEST_SQL = text("status != 'withdrawn'")


class Request(Base):
    """A person asking for a bed for one night."""

    __tablename__ = "requests"
    __table_args__ = (
        Index(
            "uq_requests_open_person_night", "person_id", "night", unique=True,
            sqlite_where=_OPEN_REQUEST_SQL, postgresql_where=_OPEN_REQUEST_SQL,
        ),
        Index("ix_requests_night_status", "night", "status"),
        Index("ix_requests_city_night_status", "city", "night", "status"),
        # Covers the housing report's count of each person's nights (no table lookups).
        Index("ix_requests_city_person_status_night", "city", "person_id", "status", "night"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    night: Mapped[date]
    # One city's night is that city's alone: every night query filters by it. Set from
    # where the request was registered (the held or preferred site), else the instance.
    city: Mapped[str] = mapped_column(String(60), default=instance_city)
    source: Mapped[RequestSource] = mapped_column(enum_type(RequestSource, "request_source"))
    arrival: Mapped[int] = mapped_column(Integer)  # queue position that night
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)  # bed features required
    preferred_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id"))
    status: Mapped[RequestStatus] = mapped_column(
        enum_type(RequestStatus, "request_status"), default=RequestStatus.WAITING
    )
    # Outcome of the last confirmed allocation for a turned-away request.
    turnaway_reason: Mapped[str | None] = mapped_column(String(20))
    turnaway_explanation: Mapped[str | None] = mapped_column(Text)  # English, as decided
    # The reason's facts (allocator/words.py), worded in the reader's language by
    # services/reasons.py; NULL on rows from before they were kept (the text is shown).
    turnaway_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    referred_to: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    person: Mapped[Person] = relationship()
    assessment: Mapped[Assessment | None] = relationship()
    preferred_site: Mapped[Site | None] = relationship()
    hold: Mapped[Hold | None] = relationship(foreign_keys=[hold_id])


class Hold(Base):
    """A partner's pre-booking of a bed for a named person on one night.

    Every hold names a concrete bed, even a hold for "a bed at this site" or "any suitable
    site" (`site_only` true): the unique index on the bed then makes the last bed go to one
    partner only, and the allocation honours the hold with that very bed, so a held bed is
    never given to anyone else. Only if the bed leaves service before the night is a site
    hold honoured with another bed at its site."""

    __tablename__ = "holds"
    __table_args__ = (
        Index(
            "uq_holds_active_bed_night", "bed_id", "night", unique=True,
            sqlite_where=_ACTIVE_HOLD_SQL, postgresql_where=_ACTIVE_HOLD_SQL,
        ),
        Index(
            "uq_holds_active_person_night", "person_id", "night", unique=True,
            sqlite_where=_ACTIVE_HOLD_SQL, postgresql_where=_ACTIVE_HOLD_SQL,
        ),
        Index(
            "uq_holds_pending_person_night", "person_id", "night", unique=True,
            sqlite_where=_PENDING_HOLD_SQL, postgresql_where=_PENDING_HOLD_SQL,
        ),
        Index("ix_holds_night_status", "night", "status"),
        Index("ix_holds_org_night", "organisation_id", "night"),
        # A held booking names its bed; only a pending one (and how it ended) may have none.
        CheckConstraint("status != 'held' OR bed_id IS NOT NULL", name="held_names_bed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    night: Mapped[date]
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    # NULL only while pending (and for a pending booking that ended): see held_names_bed.
    bed_id: Mapped[int | None] = mapped_column(ForeignKey("beds.id"))
    site_only: Mapped[bool] = mapped_column(default=True)
    # The site the partner named (a wish: the hold may be at another suitable site), and
    # why the wish was not met or the booking is pending (a refusal code: barred,
    # keep_apart, ineligible, no_bed, quota, spread, review). Intake sees it; partners never.
    wished_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    wish_reason: Mapped[str | None] = mapped_column(String(40))
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime]  # naive UTC
    status: Mapped[HoldStatus] = mapped_column(
        enum_type(HoldStatus, "hold_status"), default=HoldStatus.HELD
    )
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()
    person: Mapped[Person] = relationship()
    site: Mapped[Site] = relationship(foreign_keys=[site_id])
    wished_site: Mapped[Site | None] = relationship(foreign_keys=[wished_site_id])
    bed: Mapped[Bed | None] = relationship()

    @hybrid_property
    def is_active(self) -> bool:
        """The hold still holds its bed (see ACTIVE_HOLD)."""
        return self.status in ACTIVE_HOLD

    @is_active.expression  # type: ignore[no-redef]
    def is_active(cls) -> Any:
        return cls.status.in_(ACTIVE_HOLD)


class HoldRefusal(Base):
    """A pre-booking the system refused, kept for the managers' pre-booking report."""

    __tablename__ = "hold_refusals"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    night: Mapped[date]
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reason: Mapped[str] = mapped_column(String(40))  # no_bed, quota, barred, keep_apart ...
    message: Mapped[str] = mapped_column(Text)  # what the partner was told
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AllocationRun(Base):
    """One run of the allocation core: its input and result snapshots, who ran it, times."""

    __tablename__ = "allocation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    night: Mapped[date] = mapped_column(index=True)
    city: Mapped[str] = mapped_column(String(60), default="Bergen")
    rule: Mapped[str] = mapped_column(String(20), default="need")
    kind: Mapped[str] = mapped_column(String(20), default="proposal")  # proposal|late|scheduled|whatif
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    solver_status: Mapped[str] = mapped_column(String(20))
    solve_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    total_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    input_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    result_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    comparison_json: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # first-come result
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class Placement(Base):
    """A person in a bed on a night."""

    __tablename__ = "placements"
    __table_args__ = (
        Index(
            "uq_placements_active_bed_night", "bed_id", "night", unique=True,
            sqlite_where=_ACTIVE_PLACEMENT_SQL, postgresql_where=_ACTIVE_PLACEMENT_SQL,
        ),
        Index(
            "uq_placements_active_person_night", "person_id", "night", unique=True,
            sqlite_where=_ACTIVE_PLACEMENT_SQL, postgresql_where=_ACTIVE_PLACEMENT_SQL,
        ),
        Index("ix_placements_night_status", "night", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    bed_id: Mapped[int] = mapped_column(ForeignKey("beds.id"))
    night: Mapped[date]
    status: Mapped[PlacementStatus] = mapped_column(
        enum_type(PlacementStatus, "placement_status"), default=PlacementStatus.PROPOSED
    )
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_runs.id"))
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_in_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship()
    bed: Mapped[Bed] = relationship()
    request: Mapped[Request | None] = relationship()
    run: Mapped[AllocationRun | None] = relationship()

    @hybrid_property
    def is_active(self) -> bool:
        """The placement holds its bed and its person tonight (see ACTIVE_PLACEMENT)."""
        return self.status in ACTIVE_PLACEMENT

    @is_active.expression  # type: ignore[no-redef]
    def is_active(cls) -> Any:
        return cls.status.in_(ACTIVE_PLACEMENT)


class Override(Base):
    """A hand change by staff to a proposed placement, with the reason they gave."""

    __tablename__ = "overrides"
    __table_args__ = (CheckConstraint("reason != ''", name="reason_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_runs.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    night: Mapped[date]
    from_bed_id: Mapped[int | None] = mapped_column(ForeignKey("beds.id"))
    to_bed_id: Mapped[int | None] = mapped_column(ForeignKey("beds.id"))
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlacementChange(Base):
    """One change staff (or the scheduler) made to a placement after confirmation: check-in,
    no-show, release, cancel or move, with the reason given.

    `before` and `after` are snapshots of what the change touched (the placement, and the
    hold and request where it changed them), so the last change of the night can be undone
    exactly, and only while nothing else has changed them since."""

    __tablename__ = "placement_changes"
    __table_args__ = (Index("ix_placement_changes_night", "night"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placements.id"), index=True)
    night: Mapped[date]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(20))  # check_in|no_show|release|cancel|move
    reason: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    placement: Mapped[Placement] = relationship()
