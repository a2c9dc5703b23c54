"""A person's nights over their whole history: nights placed, nights turned away and the
current run of nights turned away in a row (the person page).

The streak rule, written once here (README 'Person page', and the page's help text):
count back from the most recent night with a decided request (placed or turned away) up
to `night`; every night turned away in a row counts; a night placed ends the streak, and
so does a night without a request (or with a withdrawn one): someone who did not ask was
not turned away that night, and we do not guess. A request still waiting (tonight before
the allocation is confirmed) neither adds to nor ends the streak."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Integer, and_, case, distinct, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from shelter.models import Request, RequestStatus


EPOCH = date(2000, 1, 1)


@dataclass(frozen=True)
class NightCounts:
    placed: int
    turned_away: int
    streak: int  # nights turned away in a row, ending on `last_night`
    streak_since: date | None  # the first night of that run
    last_night: date | None  # the most recent night with a decided request


def night_counts(session: Session, person_id: int, *, until: date) -> NightCounts:
    """The person's counts up to and including `until`, in two queries whatever the length
    of the history, both counted in SQL: one aggregate, then the run of turned-away nights
    after the last night placed that ends on the most recent decided night."""
    placed, away = RequestStatus.PLACED, RequestStatus.TURNED_AWAY
    mine = and_(Request.person_id == person_id, Request.night <= until)
    row = session.execute(select(
        func.count(distinct(case((Request.status == placed, Request.night)))),
        func.count(distinct(case((Request.status == away, Request.night)))),
        func.max(case((Request.status == placed, Request.night))),
        func.max(case((Request.status.in_([placed, away]), Request.night))),
    ).where(mine)).one()
    n_placed, n_away, last_placed, last_decided = row
    if last_decided is None or last_decided == last_placed:
        return NightCounts(n_placed, n_away, 0, None, last_decided)
    # gaps and islands: along a run of consecutive nights, day number minus rank is constant;
    # the streak is the island of the most recent turned-away night (= last_decided)
    after = [mine, Request.status == away]
    if last_placed is not None:
        after.append(Request.night > last_placed)
    rank = func.row_number().over(order_by=Request.night)
    nights = select(Request.night.label("night"),
                    (_day_number(session) - rank).label("island")).where(*after).subquery()
    latest = select(nights.c.island).order_by(nights.c.night.desc()).limit(1).scalar_subquery()
    streak, since = session.execute(select(func.count(), func.min(nights.c.night))
                                    .where(nights.c.island == latest)).one()
    return NightCounts(n_placed, n_away, int(streak), since, last_decided)


def _day_number(session: Session) -> ColumnElement[int]:
    """Request.night as a whole number of days (SQLite: Julian day; PostgreSQL: date minus
    a fixed date), so consecutive nights have consecutive numbers."""
    if session.get_bind().dialect.name == "sqlite":
        return type_coerce(func.julianday(Request.night), Integer)
    return type_coerce(Request.night - literal(EPOCH), Integer)
