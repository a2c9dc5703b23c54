"""Finding and creating people, the person record, and registering tonight's requests.

Minimal data: a name OR an alias (a person may refuse to give a name), a birth year, a
gender, an optional phone and the bed features they always need. Every view and change of a
person's record writes an audit row."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from shelter import clock
from shelter.config import instance_city
from shelter.i18n import _, _l
from shelter.models import (
    Assessment, Gender, HoldStatus, KeepApart, Person, Placement, PlacementStatus, Request,
    RequestSource, RequestStatus, Restriction, Room, Site, User, utcnow,
)
from shelter.models.sites import Bed
from shelter.services import audit
from shelter.services.assessment import latest_assessment
from shelter.services.prebooking import end_hold
from shelter.services.safety import current_bans, current_keep_aparts
from shelter.words import word

# Bed features a person can need (a subset of the features admins give beds).
# Labels are lazy: the form shows them in the reader's language (words.FEATURES has the
# short ones for badges and tables).
BED_FEATURES = {"accessible": _l("Accessible (wheelchair, no stairs)"),
                "ground_floor": _l("Ground floor"), "single_room": _l("Single room")}
HISTORY_NIGHTS = 14


@dataclass
class PeopleError(ValueError):
    """Input that cannot be saved; `errors` maps form field names to reasons."""

    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.errors.items())


@dataclass
class LikelyDuplicate(ValueError):
    """Creating this person looks like a duplicate of `candidates`; confirm to go ahead."""

    candidates: list[Person] = field(default_factory=list)


# --- names: case- and diacritics-insensitive matching ---------------------------------

_FOLD = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "ł": "l", "þ": "th"})


def normalise(text: str | None) -> str:
    """'Åse  Ødegård' -> 'ase odegard': lower case, no diacritics, single spaces."""
    if not text:
        return ""
    folded = text.casefold().translate(_FOLD)
    plain = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


#: "born 1990", "b.1990", "født 1990", "f. 1990" or just "1990".
YEAR_IN_QUERY = re.compile(r"(?:born\s*|b\.\s*|født\s*|f\.\s*)?\b((?:19|20)\d\d)\b")


def parse_query(q: str) -> tuple[list[str], int | None]:
    """Split a search into name words and a birth year ('born 1990', 'født 1990', 'b.1990',
    'f. 1990' or '1990')."""
    text = q.strip().lower()
    year = None
    match = YEAR_IN_QUERY.search(text)
    if match:
        year = int(match.group(1))
        text = (text[: match.start()] + " " + text[match.end():])
    return normalise(text).split(), year


def _names_match(words: list[str], *names: str | None) -> bool:
    """Every search word starts some word of the name or alias."""
    hay = " ".join(normalise(n) for n in names if n).split()
    return all(any(h.startswith(w) for h in hay) for w in words)


def search_people(session: Session, q: str, limit: int = 50) -> list[Person]:
    """People whose name or alias words start with every word of `q` (case/diacritics-
    insensitive), and born in the year given ('born 1990', '1990') ±0. Two queries: the
    narrow name columns (filtered by year in SQL), then the matching people."""
    words, year = parse_query(q)
    if not words and year is None:
        return []
    # a record merged into another is found through the one it was merged into
    stmt = select(Person.id, Person.name, Person.alias).where(Person.merged_into_id.is_(None))
    if year is not None:
        stmt = stmt.where(Person.birth_year == year)
    ids = [pid for pid, name, alias in session.execute(stmt) if _names_match(words, name, alias)]
    ids = ids[:limit]
    if not ids:
        return []
    people = session.scalars(select(Person).where(Person.id.in_(ids))).all()
    return sorted(people, key=lambda p: (normalise(p.name or p.alias), p.id))


def _similar(a: str, b: str) -> bool:
    """Same name after folding, or the same first three letters of the first word and the
    same initial of the last word (e.g. 'Jon Olsen' ~ 'Jonas Olsen')."""
    if not a or not b:
        return False
    if a == b:
        return True
    wa, wb = a.split(), b.split()
    if wa[0][:3] != wb[0][:3]:
        return False
    if len(wa) > 1 and len(wb) > 1:
        return wa[-1][0] == wb[-1][0]
    return True


def find_likely_duplicates(session: Session, name: str | None, alias: str | None,
                           birth_year: int | None, exclude_id: int | None = None) -> list[Person]:
    """Existing people whose name or alias is similar to the new one's and whose birth year
    is within ±1 (or an identical name when a birth year is unknown)."""
    new_names = [n for n in (normalise(name), normalise(alias)) if n]
    if not new_names:
        return []
    stmt = select(Person.id, Person.name, Person.alias, Person.birth_year).where(
        Person.merged_into_id.is_(None))
    if birth_year is not None:
        stmt = stmt.where(or_(Person.birth_year.is_(None),
                              Person.birth_year.between(birth_year - 1, birth_year + 1)))
    ids = []
    for pid, pname, palias, pyear in session.execute(stmt):
        if pid == exclude_id:
            continue
        old_names = [n for n in (normalise(pname), normalise(palias)) if n]
        if birth_year is not None and pyear is not None:
            hit = any(_similar(a, b) for a in new_names for b in old_names)
        else:  # one birth year unknown: only an identical name is a likely duplicate
            hit = bool(set(new_names) & set(old_names))
        if hit:
            ids.append(pid)
    if not ids:
        return []
    return list(session.scalars(select(Person).where(Person.id.in_(ids[:10])).order_by(Person.id)))


OLDEST_AGE = 110  # a birth year more than this many years ago is a typing error


def birth_year_problem(year: int | None, this_year: int | None = None) -> str | None:
    """The one birth-year rule (intake, partner web form, API): not in the future and not
    over OLDEST_AGE years ago. None when the year is fine or not given."""
    now = this_year or clock.tonight().year
    if year is not None and not (now - OLDEST_AGE <= year <= now):
        return _("Birth year must be between %(first)s and %(last)s.", first=now - OLDEST_AGE,
                 last=now)
    return None


def _check_person(errors: dict[str, str], name: str | None, alias: str | None,
                  refused_name: bool, birth_year: int | None, gender: Gender | str,
                  needs: list[str] | None, this_year: int | None) -> None:
    if refused_name:
        if not alias:
            errors["alias"] = _("They refused to give a name: give an alias so staff can find "
                                "them.")
    elif not name and not alias:
        errors["name"] = _("Give a name or an alias (or tick 'refused to give a name').")
    if problem := birth_year_problem(birth_year, this_year):
        errors["birth_year"] = problem
    unknown = set(needs or []) - BED_FEATURES.keys()
    if unknown:
        errors["needs"] = _("Unknown bed need: %(needs)s.", needs=", ".join(sorted(unknown)))
    try:
        Gender(gender)
    except ValueError:
        errors["gender"] = _("Choose woman, man, nonbinary or 'prefers not to say'.")


def update_person(session: Session, person: Person, *, name: str | None, alias: str | None,
                  refused_name: bool, birth_year: int | None, gender: Gender | str,
                  phone: str | None, needs: list[str] | None, user: User | None) -> list[str]:
    """Correct a person's record. Each changed field is audited with its old and new value
    (staff and admins only read the audit trail). Returns the changes ("field: old -> new").
    Raises PeopleError naming each bad field; nothing is changed then."""
    name = None if refused_name else ((name or "").strip() or None)
    alias = (alias or "").strip() or None
    errors: dict[str, str] = {}
    _check_person(errors, name, alias, refused_name, birth_year, gender, needs, None)
    if errors:
        raise PeopleError(errors)
    new = {"name": name, "alias": alias, "refused_name": bool(refused_name),
           "birth_year": birth_year, "gender": Gender(gender),
           "phone": (phone or "").strip() or None, "needs": sorted(needs or [])}
    changes = []
    for key, value in new.items():
        old = getattr(person, key)
        if old != value:
            shown = [v.value if isinstance(v, Gender) else v for v in (old, value)]
            changes.append(f"{key}: {shown[0]!r} -> {shown[1]!r}")
            setattr(person, key, value)
    if changes:
        session.flush()
        audit.record(session, user, "update", person.id, "; ".join(changes))
    return changes


def create_person(session: Session, *, name: str | None, alias: str | None, refused_name: bool,
                  birth_year: int | None, gender: Gender | str, phone: str | None = None,
                  needs: list[str] | None = None, user: User | None,
                  confirm_duplicate: bool = False, this_year: int | None = None) -> Person:
    """Create a person (audited). Raises PeopleError for missing/contradictory input and
    LikelyDuplicate when a similar person exists and `confirm_duplicate` is false."""
    name = None if refused_name else ((name or "").strip() or None)
    alias = (alias or "").strip() or None
    errors: dict[str, str] = {}
    _check_person(errors, name, alias, refused_name, birth_year, gender, needs, this_year)
    if errors:
        raise PeopleError(errors)
    gender = Gender(gender)
    if not confirm_duplicate:
        candidates = find_likely_duplicates(session, name, alias, birth_year)
        if candidates:
            raise LikelyDuplicate(candidates)
    person = Person(name=name, alias=alias, refused_name=bool(refused_name), birth_year=birth_year,
                    gender=gender, phone=(phone or "").strip() or None, needs=sorted(needs or []))
    session.add(person)
    session.flush()
    audit.record(session, user, "create", person.id, "confirmed despite a likely duplicate" if confirm_duplicate
                 else "")
    return person


# --- the person page ---------------------------------------------------------------------

@dataclass
class PersonRecord:
    person: Person
    latest: Assessment | None
    requests: list[Request]
    placements: dict[date, Placement]
    bans: list[Restriction]
    keep_aparts: list[KeepApart]
    night: date


def person_record(session: Session, person_id: int, *, night: date, user: User | None,
                  staff: bool = True) -> PersonRecord | None:
    """Everything the person page shows (audited as a view); None if there is no such person.
    Bans and keep-apart pairs are only loaded for staff. Requests and placements cover the
    last 14 nights up to and including `night`."""
    person = session.get(Person, person_id)
    if person is None:
        return None
    since = night - timedelta(days=HISTORY_NIGHTS - 1)
    requests = list(session.scalars(
        select(Request).options(joinedload(Request.assessment), joinedload(Request.preferred_site))
        .where(Request.person_id == person_id, Request.night >= since, Request.night <= night)
        .order_by(Request.night.desc(), Request.id.desc())
    ))
    placements: dict[date, Placement] = {}
    for p in session.scalars(
        select(Placement).options(joinedload(Placement.bed).joinedload(Bed.room).joinedload(Room.site))
        .where(Placement.person_id == person_id, Placement.night >= since, Placement.night <= night)
        .order_by(Placement.night, Placement.id)
    ):
        # the active placement wins over an earlier released one on the same night
        if p.night not in placements or p.is_active:
            placements[p.night] = p
    record = PersonRecord(
        person=person, latest=latest_assessment(session, person_id), requests=requests,
        placements=placements,
        bans=current_bans(session, night, person_id=person_id) if staff else [],
        keep_aparts=current_keep_aparts(session, night, person_id=person_id) if staff else [],
        night=night,
    )
    audit.record(session, user, "view", person_id, "person page")
    return record


# --- requests ------------------------------------------------------------------------------

def open_request(session: Session, person_id: int, night: date) -> Request | None:
    return session.scalar(select(Request).where(
        Request.person_id == person_id, Request.night == night,
        Request.status != RequestStatus.WITHDRAWN))


def register_request(session: Session, person: Person, night: date, *, source: RequestSource | str,
                     needs: list[str] | None, preferred_site_id: int | None,
                     assessment: Assessment | None, user: User | None, note: str = "",
                     city: str | None = None) -> Request:
    """Register `person`'s request for a bed on `night` in `city` (default: the preferred
    site's city, else the instance's), audited. Arrival is the next queue number that night
    in that city. Raises PeopleError (field 'night') when the person already has an open
    request that night; the unique index guards this under concurrency too; field
    'source'/'needs'/'preferred_site_id'/'assessment_id' for bad input."""
    errors: dict[str, str] = {}
    if person.merged_into_id is not None:
        raise PeopleError({"night": _("This record was merged into #%(number)s: register the "
                                      "request there.", number=person.merged_into_id)})
    site = None
    try:
        source = RequestSource(source)
    except ValueError:
        errors["source"] = _("Choose walk-in, phone or partner referral.")
    unknown = set(needs or []) - BED_FEATURES.keys()
    if unknown:
        errors["needs"] = _("Unknown bed need: %(needs)s.", needs=", ".join(sorted(unknown)))
    if preferred_site_id is not None:
        site = session.get(Site, preferred_site_id)
        if site is None or not site.active:
            errors["preferred_site_id"] = _("That site does not exist or is closed.")
        elif city is not None and site.city != city:
            errors["preferred_site_id"] = _("That site is in another city.")
    if assessment is not None and assessment.person_id != person.id:
        errors["assessment_id"] = _("That assessment belongs to someone else.")
    if errors:
        raise PeopleError(errors)
    city = city or (site.city if site is not None else instance_city())
    existing = open_request(session, person.id, night)
    if existing is not None:
        raise PeopleError({"night": _already(existing)})
    arrival = (session.scalar(select(func.max(Request.arrival)).where(
        Request.city == city, Request.night == night)) or 0) + 1
    request = Request(person_id=person.id, night=night, city=city, source=source, arrival=arrival,
                      needs=sorted(set(needs or []) | set(person.needs or [])),
                      preferred_site_id=preferred_site_id,
                      assessment_id=assessment.id if assessment else None, note=note.strip(),
                      created_by_id=getattr(user, "id", None))
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError:
        # Someone registered the same person a moment ago: the unique index said no.
        raise PeopleError({"night": _("This person already has an open request for this "
                                      "night.")})
    audit.record(session, user, "request", person.id, f"request for {night.isoformat()} ({source.value}), "
                 f"arrival {arrival}")
    return request


def _already(existing: Request) -> str:
    return _("Already registered for this night (queue number %(arrival)s, %(status)s). No "
             "second request is needed.", arrival=existing.arrival, status=word(existing.status))


WITHDRAW_REASONS = {"left": _l("Left before getting a bed"),
                    "bed_elsewhere": _l("Got a bed elsewhere"), "other": _l("Other")}


def withdraw_request(session: Session, person_id: int, night: date, *, reason: str, note: str,
                     user: User | None) -> Request:
    """The person no longer asks for a bed tonight: the request is withdrawn (kept, with the
    reason, for the reports), a proposed or confirmed bed goes back to the pool and a
    partner's hold behind it is released. Raises PeopleError: no open request, an unknown
    reason, 'other' without a note, or the person already checked in (release the bed on
    the board instead). Audited."""
    req = open_request(session, person_id, night)
    if req is None:
        raise PeopleError({"request": _("This person has no open request tonight.")})
    if reason not in WITHDRAW_REASONS:
        raise PeopleError({"reason": _("Choose why the request is withdrawn.")})
    if reason == "other" and not (note or "").strip():
        raise PeopleError({"note": _("Say why (a few words).")})
    placement = session.scalar(select(Placement).where(
        Placement.person_id == person_id, Placement.night == night, Placement.is_active))
    if placement is not None and placement.status == PlacementStatus.CHECKED_IN:
        raise PeopleError({"request": _("The person is checked in: release the bed on the "
                                        "board instead.")})
    now = utcnow()
    if placement is not None:
        placement.status, placement.ended_at = PlacementStatus.RELEASED, now
    if req.hold_id is not None and req.hold is not None and req.hold.status == HoldStatus.HELD:
        end_hold(session, req.hold_id, HoldStatus.RELEASED, now)
    req.status = RequestStatus.WITHDRAWN
    # The note on the request is written in the words of the staff member who withdrew it
    # (like a note they typed); the audit row keeps the reason code.
    said = f": {note.strip()}" if (note or "").strip() else ""
    why = str(WITHDRAW_REASONS[reason]) + said
    req.note = (req.note + "\n" if req.note else "") + _("Withdrawn: %(why)s", why=why)
    session.flush()
    audit.record(session, user, "withdraw", person_id, f"request {req.id} for {night}: {reason}{said}")
    return req
