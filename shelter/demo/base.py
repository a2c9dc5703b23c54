"""Demo data part 'base': a Bergen-like city's shelters, partners, quotas, other services
and one user per role (see shelter/demo/__init__.py).

Names follow the city's action plan (Gyldenpris by MO Strax-huset, Vågsbunnen, Sandviken)
plus a women-only shelter and a youth shelter for ages 18-23. Addresses are invented."""
from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelter.auth import hash_password
from shelter.services.admin import area_named
from shelter.models import (
    Bed, BedOutage, GenderRule, Organisation, OrgKind, OtherService, Quota, Role, Room, Site,
    User,
)

CITY = "Bergen"
MARKER_SITE = "gyldenpris"  # `seed-demo --once` treats the demo as present when this exists

W, M, X = GenderRule.WOMEN, GenderRule.MEN, GenderRule.MIXED

# code: (name, area, address, staffed 24h, (min age, max age), rooms)
# rooms: (name, gender rule, beds, how many of them accessible)
SITES: dict[str, tuple] = {
    "gyldenpris": ("Gyldenpris (MO Strax-huset)", "Gyldenpris", "Gyldenprisveien 12",
                   True, (None, None),
                   [("Første etasje", X, 16, 2), ("Andre etasje", M, 18, 0),
                    ("Kvinnegangen", W, 8, 1)]),
    "vagsbunnen": ("Vågsbunnen akuttovernatting", "Sentrum", "Vågsbunnen 3",
                   True, (None, None),
                   [("Sal 1", M, 20, 1), ("Sal 2", X, 12, 1), ("Rom 3", W, 4, 0)]),
    "sandviken": ("Sandviken akuttovernatting", "Sandviken", "Sandviksveien 40",
                  False, (None, None),
                  [("Hovedhuset", X, 18, 3), ("Annekset", M, 12, 0)]),
    "kvinnehuset": ("Kvinnehuset (women only)", "Møhlenpris", "Kvinnegata 5",
                    True, (None, None),
                    [("Rom A", W, 12, 2), ("Rom B", W, 10, 0)]),
    "ungbase": ("Ungbasen (ages 18-23)", "Årstad", "Ungdomsveien 8",
                True, (18, 23),
                [("Jenter", W, 8, 1), ("Gutter", M, 8, 1), ("Felles", X, 4, 0)]),
}

ORGANISATIONS = [
    ("NAV", OrgKind.MUNICIPAL), ("Kirkens Bymisjon", OrgKind.NGO),
    ("Utekontakten", OrgKind.MUNICIPAL), ("Politiet", OrgKind.POLICE),
    ("Legevakten", OrgKind.HEALTH), ("Krisesenteret", OrgKind.NGO),
]

# (organisation, site code, holds per night)
QUOTAS = [
    ("NAV", "gyldenpris", 3), ("NAV", "vagsbunnen", 3), ("NAV", "sandviken", 2),
    ("Kirkens Bymisjon", "kvinnehuset", 2), ("Kirkens Bymisjon", "gyldenpris", 2),
    ("Utekontakten", "ungbase", 3), ("Utekontakten", "sandviken", 1),
    ("Politiet", "vagsbunnen", 1), ("Politiet", "gyldenpris", 1),
    ("Legevakten", "gyldenpris", 1), ("Krisesenteret", "kvinnehuset", 3),
]

OTHER_SERVICES = [
    ("Krisesenteret i Bergen", "Shelter and help for women exposed to violence; open all night.",
     "Krisesentervegen 1", "55 00 00 01", "woman"),
    ("Legevakten", "Emergency ward: acute illness, injury or overdose.",
     "Vestre Strømkaien 19", "116 117", None),
    ("MO-senteret Strax-huset", "Low-threshold day centre: food, shower, a nurse, advice.",
     "Gyldenprisveien 12", "55 00 00 03", None),
    ("Utekontakten (street team)", "Outreach team on the street until 01:00; can help find a bed.",
     "", "55 00 00 04", None),
    ("Kirkens Bymisjon Kafé", "Warm room and a meal in the evening.", "Nygårdsgaten 3",
     "55 00 00 05", None),
]

# username: (display name, role, organisation or None, password)
USERS = {
    "intake": ("Ingrid Intake", Role.INTAKE, None, "intake-shelter"),
    "nav": ("Nils (NAV)", Role.PARTNER, "NAV", "nav-partner-shelter"),
    "bymisjon": ("Berit (Kirkens Bymisjon)", Role.PARTNER, "Kirkens Bymisjon",
                 "bymisjon-shelter"),
    "manager": ("Mona Manager", Role.MANAGER, None, "manager-shelter"),
    "admin": ("Arne Admin", Role.ADMIN, None, "admin-shelter"),
}


def real_usernames(session: Session) -> list[str]:
    """Users other than the demo ones, by name: seed-demo refuses such a database (its demo
    accounts have published passwords, and an admin among them would open everything)."""
    return list(session.scalars(select(User.username).where(User.username.not_in(list(USERS)))
                                .order_by(User.username)))


def is_seeded(session: Session) -> bool:
    return session.scalar(select(Site.id).where(Site.code == MARKER_SITE)) is not None


def _sites(session: Session, since: date) -> dict[str, Site]:
    sites: dict[str, Site] = {}
    for code, (name, area, address, staffed, (min_age, max_age), rooms) in SITES.items():
        site = Site(code=code, name=name, city=CITY, area=area_named(session, CITY, area),
                    address=address,
                    staffed_24h=staffed, min_age=min_age, max_age=max_age,
                    intake_opens=time(17, 0), intake_closes=time(23, 30),
                    checkin_cutoff=time(23, 0), hold_expiry=time(21, 0))
        for number, (room_name, gender, n_beds, n_accessible) in enumerate(rooms, 1):
            room = Room(name=room_name, gender=gender, valid_from=since)
            prefix = f"{code[:3].upper()}{number}"
            for i in range(1, n_beds + 1):
                room.beds.append(Bed(label=f"{prefix}-{i:02d}", valid_from=since,
                                     features=["accessible"] if i <= n_accessible else []))
            site.rooms.append(room)
        session.add(site)
        sites[code] = site
    # Overflow capacity for cold nights: mattresses in Strax-huset's day centre.
    overflow = Room(name="Dagsenteret (madrasser)", gender=X, valid_from=since, overflow=True)
    overflow.beds = [Bed(label=f"GYL-M-{i:02d}", valid_from=since) for i in range(1, 11)]
    sites["gyldenpris"].rooms.append(overflow)
    return sites


def seed(session: Session, today: date) -> list[str]:
    since = today - timedelta(days=400)  # history (reports) reaches back a year
    sites = _sites(session, since)
    orgs = {name: Organisation(name=name, kind=kind) for name, kind in ORGANISATIONS}
    session.add_all(orgs.values())
    session.flush()

    # A couple of beds out of service (dated, with a reason).
    session.add_all([
        BedOutage(bed=sites["vagsbunnen"].rooms[0].beds[-1], reason="Water damage after a leak",
                  starts_on=today - timedelta(days=3), ends_on=today + timedelta(days=10)),
        BedOutage(bed=sites["gyldenpris"].rooms[1].beds[-1], reason="Broken bed frame",
                  starts_on=today, ends_on=None),
    ])
    session.add_all(Quota(organisation=orgs[o], site=sites[s], per_night=n) for o, s, n in QUOTAS)
    session.add_all(OtherService(city=CITY, name=n, description=d, address=a, phone=p,
                                 for_gender=g) for n, d, a, p, g in OTHER_SERVICES)

    lines = []
    for username, (display, role, org, password) in USERS.items():
        session.add(User(username=username, display_name=display, role=role,
                         organisation=orgs[org] if org else None,
                         sites=list(sites.values()) if role is Role.INTAKE else [],
                         password_hash=hash_password(password)))
        lines.append(f"  {role.value:<8} {username:<9} password: {password}"
                     + (f"  ({org})" if org else ""))
    session.flush()
    n_beds = sum(len(r.beds) for s in sites.values() for r in s.rooms)
    return [f"base: {len(sites)} sites, {n_beds} beds, {len(orgs)} organisations, "
            f"{len(OTHER_SERVICES)} other services; demo users:", *lines]
