"""Open data: this system's nights in the format of Toronto's daily shelter occupancy file,
so what a city publishes can be read by the same tools (and by our own Toronto importer).

One row per site programme and night: a programme is a site's rooms of one gender rule
(sector Women, Men or Mixed Adult), so a site with a women's room and a mixed room gives two
rows a night. Capacity is beds in service that night; occupied beds are placements someone
sleeps in (confirmed or checked in), the same counts as the occupancy report. Held beds that
nobody slept in count as unoccupied. Bed based only: the room columns stay empty. No
personal data: only counts, the site and its organisation. Figures come from the same rules
the reports use (`Bed.in_service_on`, `reports_stats.OCCUPIED`).

The file is Toronto's format, in any language: its English column names and sector words,
"," between columns and a decimal point, unless the caller asks for another delimiter. It is
written by the reports' one CSV writer (`reports.write_csv`: formula neutralising, CRLF)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shelter.i18n import _
from shelter.models import Bed, GenderRule, Placement, Room, Site
from shelter.services.reports import CsvStyle, write_csv
from shelter.services.reports_stats import OCCUPIED

MAX_NIGHTS = 366
#: The header of toronto-daily-shelter-occupancy-2024q1.csv, in its order.
COLUMNS = [
    "_id", "OCCUPANCY_DATE", "ORGANIZATION_ID", "ORGANIZATION_NAME", "SHELTER_ID",
    "SHELTER_GROUP", "LOCATION_ID", "LOCATION_NAME", "LOCATION_ADDRESS", "LOCATION_POSTAL_CODE",
    "LOCATION_CITY", "LOCATION_PROVINCE", "PROGRAM_ID", "PROGRAM_NAME", "SECTOR",
    "PROGRAM_MODEL", "OVERNIGHT_SERVICE_TYPE", "PROGRAM_AREA", "SERVICE_USER_COUNT",
    "CAPACITY_TYPE", "CAPACITY_ACTUAL_BED", "CAPACITY_FUNDING_BED", "OCCUPIED_BEDS",
    "UNOCCUPIED_BEDS", "UNAVAILABLE_BEDS", "CAPACITY_ACTUAL_ROOM", "CAPACITY_FUNDING_ROOM",
    "OCCUPIED_ROOMS", "UNOCCUPIED_ROOMS", "UNAVAILABLE_ROOMS", "OCCUPANCY_RATE_BEDS",
    "OCCUPANCY_RATE_ROOMS",
]
#: Toronto's sector for each gender rule (their importer reads Women and Men back).
SECTOR = {GenderRule.WOMEN: "Women", GenderRule.MEN: "Men", GenderRule.MIXED: "Mixed Adult"}
#: A stable number per gender rule, so PROGRAM_ID = site id * 10 + this.
SECTOR_DIGIT = {GenderRule.MIXED: 0, GenderRule.WOMEN: 1, GenderRule.MEN: 2}


class ExportError(ValueError):
    """A range that cannot be exported; `field` names the option or form field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def check_range(start: date, end: date) -> None:
    if end < start:
        raise ExportError("to", _("The last night must be on or after the first night."))
    if (end - start).days + 1 > MAX_NIGHTS:
        raise ExportError("to", _("Choose at most %(num)s nights.", num=MAX_NIGHTS))


def _counts(session: Session, night: date, city: str | None) -> dict[tuple[int, str], list[int]]:
    """(site id, gender rule) -> [beds in service, occupied] on one night: two GROUP BYs."""
    where: list[Any] = [Bed.in_service_on(night)]
    if city is not None:
        where.append(Site.city == city)
    out: dict[tuple[int, str], list[int]] = {}
    for sid, gender, n in session.execute(
            select(Site.id, Room.gender, func.count(Bed.id))
            .join(Room, Room.id == Bed.room_id).join(Site, Site.id == Room.site_id)
            .where(*where).group_by(Site.id, Room.gender)):
        out[(sid, GenderRule(gender).value)] = [int(n), 0]
    for sid, gender, n in session.execute(
            select(Site.id, Room.gender, func.count(Placement.id))
            .join(Bed, Bed.id == Placement.bed_id).join(Room, Room.id == Bed.room_id)
            .join(Site, Site.id == Room.site_id)
            .where(Placement.night == night, Placement.status.in_(OCCUPIED), *where)
            .group_by(Site.id, Room.gender)):
        key = (sid, GenderRule(gender).value)
        if key in out:
            out[key][1] = int(n)
    return out


def occupancy_rows(session: Session, start: date, end: date,
                   city: str | None = None) -> list[dict[str, Any]]:
    """The rows of the file for nights `start`..`end` (all cities unless `city` is given).
    Raises ExportError for a reversed or too long range."""
    check_range(start, end)
    sites = {s.id: s for s in session.scalars(select(Site))}
    rows: list[dict[str, Any]] = []
    night = start
    while night <= end:
        counts = _counts(session, night, city)
        genders_of: dict[int, int] = {}
        for sid, __ in counts:
            genders_of[sid] = genders_of.get(sid, 0) + 1
        for (sid, gender_value), (capacity, occupied) in sorted(counts.items()):
            if capacity == 0:
                continue
            site, gender = sites[sid], GenderRule(gender_value)
            name = site.name if genders_of[sid] == 1 else f"{site.name} ({SECTOR[gender]})"
            rows.append({
                "_id": len(rows) + 1, "OCCUPANCY_DATE": night.isoformat(),
                "ORGANIZATION_ID": "", "ORGANIZATION_NAME": "",
                "SHELTER_ID": site.id, "SHELTER_GROUP": site.name,
                "LOCATION_ID": site.id, "LOCATION_NAME": site.name,
                "LOCATION_ADDRESS": site.address, "LOCATION_POSTAL_CODE": "",
                "LOCATION_CITY": site.city, "LOCATION_PROVINCE": "",
                "PROGRAM_ID": sid * 10 + SECTOR_DIGIT[gender], "PROGRAM_NAME": name,
                "SECTOR": SECTOR[gender], "PROGRAM_MODEL": "Emergency",
                "OVERNIGHT_SERVICE_TYPE": "Shelter", "PROGRAM_AREA": "Base Shelter and Overnight Services System",
                "SERVICE_USER_COUNT": occupied, "CAPACITY_TYPE": "Bed Based Capacity",
                "CAPACITY_ACTUAL_BED": capacity, "CAPACITY_FUNDING_BED": capacity,
                "OCCUPIED_BEDS": occupied, "UNOCCUPIED_BEDS": capacity - occupied,
                "UNAVAILABLE_BEDS": 0,
                "CAPACITY_ACTUAL_ROOM": "", "CAPACITY_FUNDING_ROOM": "", "OCCUPIED_ROOMS": "",
                "UNOCCUPIED_ROOMS": "", "UNAVAILABLE_ROOMS": "",
                "OCCUPANCY_RATE_BEDS": round(100.0 * occupied / capacity, 2),
                "OCCUPANCY_RATE_ROOMS": "",
            })
        night += timedelta(days=1)
    return rows


def occupancy_csv(session: Session, start: date, end: date, city: str | None = None,
                  style: CsvStyle = CsvStyle()) -> str:
    """The file itself (header first), as text: Toronto's "," and decimal point unless
    `style` says otherwise."""
    rows = occupancy_rows(session, start, end, city)
    return write_csv(COLUMNS, [[row[c] for c in COLUMNS] for row in rows], style)
