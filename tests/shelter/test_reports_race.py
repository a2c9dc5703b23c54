"""Two report requests filling the same never-counted night at the same moment must not
fail (unique key on report_nights city+night) nor count the night twice."""
from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import func, select

from shelter.extensions import db
from shelter.models import Bed, Person, Request, Room, Site
from shelter.models.reporting import ReportNight, ReportRequestGroup, ReportSiteNight
from shelter.services.reports_fill import ensure_stats
from tests.shelter.conftest import build_app, scratch_database

NIGHT = date(2026, 3, 1)
TODAY = date(2026, 6, 1)


def _seed() -> None:
    site = Site(code="race", name="Race site", city="Bergen")
    room = Room(site=site, name="Room", valid_from=date(2020, 1, 1))
    room.beds = [Bed(label=f"r-{i}", valid_from=date(2020, 1, 1)) for i in range(3)]
    people = [Person(name=f"P{i}", gender="man", birth_year=1980) for i in range(2)]
    db.session.add_all([site, *people])
    db.session.flush()
    db.session.add_all([Request(person_id=p.id, night=NIGHT, source="walk_in", arrival=i + 1,
                                preferred_site_id=site.id, status="turned_away",
                                turnaway_reason="capacity") for i, p in enumerate(people)])
    db.session.commit()


def test_two_requests_filling_one_night_at_once(backend, tmp_path):
    with scratch_database(backend, tmp_path, "reportrace") as url:
        app = build_app(url)
        with app.app_context():
            _seed()
        claimed = threading.Event()
        counted: dict[str, int] = {}
        errors: list[BaseException] = []

        def first() -> None:
            with app.app_context():
                try:
                    counted["first"] = ensure_stats(db.session, "Bergen", NIGHT, NIGHT, TODAY)
                    claimed.set()
                    # Keep the claim uncommitted while the second one tries to count.
                    threading.Event().wait(0.5)
                    db.session.commit()
                except BaseException as err:  # noqa: BLE001  (reported by the main thread)
                    claimed.set()
                    errors.append(err)

        def second() -> None:
            claimed.wait(10)
            with app.app_context():
                try:
                    counted["second"] = ensure_stats(db.session, "Bergen", NIGHT, NIGHT, TODAY)
                    db.session.commit()
                except BaseException as err:  # noqa: BLE001
                    errors.append(err)

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        # The night is counted by exactly one of them, once.
        assert counted == {"first": 1, "second": 0}
        with app.app_context():
            s = db.session
            assert s.scalar(select(func.count()).select_from(ReportNight).where(
                ReportNight.city == "Bergen", ReportNight.night == NIGHT)) == 1
            assert s.scalar(select(func.count()).select_from(ReportSiteNight)) == 1
            try:
                assert s.scalar(select(func.sum(ReportRequestGroup.count)).where(
                    ReportRequestGroup.outcome == "turned_away")) == 2
            finally:
                db.session.remove()
                db.engine.dispose()
