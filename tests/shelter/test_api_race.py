"""Twenty partners race for the last bed of a site: exactly one gets it, the rest 409,
never a 5xx, in every one of 20 trials, on SQLite and PostgreSQL (real commits). Each trial adds
a site with one bed to a city whose other beds are held, so a booking (which may be held at
any suitable site of the city) races for the only free bed."""
from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select

from shelter.extensions import db
from shelter.models import Hold, HoldStatus
from shelter.services.tokens import create_token
from tests.shelter.partners_fixtures import add_org, add_site, tomorrow

PARTNERS = 20
TRIALS = 20


def test_last_bed_goes_to_exactly_one_partner(race_app):
    night = str(tomorrow())
    with race_app.app_context():
        tokens = []
        for i in range(PARTNERS):
            add_org(db.session, f"Partner {i}")
            tokens.append(create_token(db.session, f"Partner {i}"))
        db.session.commit()

    for trial in range(TRIALS):
        code = f"site{trial}"
        with race_app.app_context():
            add_site(db.session, code, beds=1)
            db.session.commit()
        barrier = threading.Barrier(PARTNERS)
        statuses: list[int] = []
        lock = threading.Lock()

        def book(i: int) -> None:
            client = race_app.test_client()
            body = {"night": night, "site": code,
                    "person": {"name": f"Person {trial}-{i}", "gender": "man"}}
            barrier.wait()
            response = client.post("/api/v1/holds", json=body,
                                   headers={"Authorization": f"Bearer {tokens[i]}"})
            with lock:
                statuses.append(response.status_code)

        threads = [threading.Thread(target=book, args=(i,)) for i in range(PARTNERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert Counter(statuses) == {201: 1, 409: PARTNERS - 1}, (trial, statuses)

    with race_app.app_context():
        held = db.session.scalar(select(func.count(Hold.id)).where(Hold.status == HoldStatus.HELD))
        assert held == TRIALS
