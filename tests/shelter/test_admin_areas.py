"""Admins keep the areas exclusion orders name: add, rename (duplicates refused beside the
field), and a site joins an area by naming it."""
from __future__ import annotations

from sqlalchemy import select

from shelter.models import Area, Role, Site
from tests.shelter.conftest import login


def test_admin_adds_renames_and_links_areas(client, db, make_user):
    login(client, make_user(Role.ADMIN))
    assert client.post("/admin/areas", data={"city": "Bergen", "name": "Sentrum"}).status_code == 302
    again = client.post("/admin/areas", data={"city": "Bergen", "name": " Sentrum "})
    assert again.status_code == 422 and "already has an area called Sentrum" in again.get_data(as_text=True)
    area = db.session.scalar(select(Area).where(Area.name == "Sentrum"))
    assert client.post(f"/admin/areas/{area.id}/edit",
                       data={"city": "Bergen", "name": "Bergen sentrum"}).status_code == 302
    db.session.refresh(area)
    assert area.name == "Bergen sentrum"
    form = {"name": "Vågsbunnen", "code": "vags", "city": "Bergen", "area": "Bergen sentrum",
            "address": "", "intake_opens": "17:00", "intake_closes": "23:30",
            "checkin_cutoff": "23:00", "hold_expiry": "21:00", "active": "y"}
    assert client.post("/admin/sites/new", data=form).status_code == 302
    site = db.session.scalar(select(Site).where(Site.code == "vags"))
    assert site.area_id == area.id
    page = client.get("/admin/areas").get_data(as_text=True)
    assert "Bergen sentrum" in page and "Vågsbunnen" in page


def test_areas_are_for_admins_only(client, db, make_user):
    login(client, make_user(Role.INTAKE))
    assert client.get("/admin/areas").status_code == 403
