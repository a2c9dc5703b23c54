"""Intake staff's evening: tonight's board, allocation and its proposal, hand changes,
confirmation, check-in / no-show / release, and the turned-away list. Thin views: each
parses input, checks access, calls one service, renders or redirects."""
from __future__ import annotations

from datetime import date, timedelta
from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from shelter.auth import roles_required
from shelter.config import instance_city
from shelter.extensions import db
from shelter.forms.intake import (
    BoardFilterForm, ButtonForm, CheckInForm, NoteForm, OverrideForm, PlacementChangeForm, ReleaseForm,
)
from shelter.models import AllocationRun, Gender, Person, Placement, Request, Role, utcnow
from shelter.services import allocation as alloc
from shelter.services import audit
from shelter.services import cold as cold_svc
from shelter.services import intake as intake_svc
from shelter.clock import FIRST_NIGHT, LAST_NIGHT, night_in_range, tonight
from shelter.i18n import _, day
from shelter.security import MAX_ID
from shelter.services import placements as changes
from shelter.services import night_list as night_list_svc
from shelter.services import site_access
from shelter.words import word

bp = Blueprint("intake", __name__)
STAFF = (Role.INTAKE, Role.MANAGER, Role.ADMIN)


def _city() -> str:
    return instance_city()


def _night() -> date:
    """Tonight, or the night named by ?night=YYYY-MM-DD (a bad date falls back to tonight)."""
    raw = request.values.get("night", "")
    try:
        night = date.fromisoformat(raw) if raw else tonight()
    except ValueError:
        flash(_("'%(value)s' is not a date (use YYYY-MM-DD); showing tonight.", value=raw),
              "warning")
        return tonight()
    if not night_in_range(night):
        abort(422, description=_("night: choose a night between %(first)s and %(last)s.",
                                 first=day(FIRST_NIGHT), last=day(LAST_NIGHT)))
    return night


def _actor():  # type: ignore[no-untyped-def]
    """The logged-in user itself (not the proxy): bulk audit rows read it once per row."""
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _bed_choice(bed) -> str:  # type: ignore[no-untyped-def]
    """A bed in a select: "Strax · Room 1 · strax-1", with its room's gender rule unless mixed."""
    label = intake_svc.bed_label(bed)
    if bed.room.gender.value == "mixed":
        return label
    return f"{label} ({word(bed.room.gender).lower()})"


def _board_url(night: date, **args: str) -> str:
    """The board for `night` (tonight: no ?night=), with the search and filters in `args`."""
    if night != tonight():
        args = {"night": night.isoformat(), **args}
    return url_for("intake.board", **args)


def _require_sites(*site_ids: int | None) -> None:
    """403 with the sentence to read unless the user may act at every site named: the one
    check every intake action route makes (site_access.check_sites)."""
    try:
        site_access.check_sites(db.session, _actor(), site_ids)
    except site_access.SiteRefused as err:
        abort(403, description=str(err))


def _require_all_sites() -> None:
    """403 unless the user may act at every site (running or confirming the allocation)."""
    try:
        site_access.check_all_sites(_actor())
    except site_access.SiteRefused as err:
        abort(403, description=str(err))


FILTER_ARGS = ("q", "site", "status", "band", "gender")


def _board_filter(form: BoardFilterForm, home: list, default_site: str) -> intake_svc.BoardFilter:  # type: ignore[type-arg]
    """The form's valid fields as a BoardFilter (an invalid field is left out)."""
    def value(field):  # type: ignore[no-untyped-def]
        return "" if field.errors else (field.data or "")

    site = value(form.site) or default_site
    sites = None if site == "all" else frozenset(s.id for s in home) if site == "mine" \
        else frozenset({int(site)})
    band = value(form.band)
    return intake_svc.BoardFilter(
        q="" if form.q.errors else (form.q.data or "").strip(), sites=sites,
        status=value(form.status),
        band=tuple(int(x) for x in band.split("-")) if band else None,  # type: ignore[arg-type]
        gender=Gender(value(form.gender)) if value(form.gender) else None,
        page=request.args.get("page", 1, type=int) or 1)


@bp.get("/")
@roles_required(*STAFF)
def board():  # type: ignore[no-untyped-def]
    night = _night()
    user = _actor()
    home = site_access.home_sites(user)
    form = BoardFilterForm(formdata=request.args)
    form.fill(intake_svc.site_choices(db.session, _city()), [s.name for s in home],
              {c: str(intake_svc.BOARD_STATUSES[c]) for c in intake_svc.FILTER_STATUSES},
              [f"{lo}-{hi}" for lo, hi in intake_svc.NEED_BANDS],
              [(g.value, word(g)) for g in Gender])
    default_site = "mine" if home else "all"
    for field in (form.status, form.band, form.gender):
        field.data = field.data or ""
    form.site.data = form.site.data or default_site
    valid = form.validate()
    show = _board_filter(form, home, default_site)
    data = intake_svc.board(db.session, night, _city(), show=show)
    allowed = site_access.acting_sites(user)
    audit.record(db.session, user, "view_board", [r.person_id for r in data.rows],
                 f"night {night}")
    args = {k: str(form[k].data) for k in FILTER_ARGS
            if form[k].data and not form[k].errors and not (k == "site" and form[k].data == default_site)}
    nights = {"prev": night - timedelta(days=1), "next": night + timedelta(days=1)}
    links = {k: _board_url(n, **args) for k, n in nights.items() if night_in_range(n)}
    pages = {k: _board_url(night, **args, **({"page": str(p)} if p > 1 else {}))
             for k, p in (("prev", data.page - 1), ("next", data.page + 1))
             if 1 <= p <= data.pages}
    return render_template("intake/board.html", b=data, form=ButtonForm(), filters=form,
                           filtered=bool(args) or show.sites is not None,
                           clear_url=_board_url(night, **({"site": "all"} if home else {})),
                           night_links=links,
                           page_links=pages, page_size=intake_svc.PAGE_SIZE,
                           can_act=partial(site_access.may_act_at, allowed),
                           can_allocate=allowed is None,
                           is_tonight=night == tonight(),
                           undo=changes.undoable(db.session, night) if night == tonight() else {}
                           ), 200 if valid else 422


@bp.post("/allocate")
@roles_required(*STAFF)
def allocate():  # type: ignore[no-untyped-def]
    _require_all_sites()
    night = _night()
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        run = alloc.run_allocation(db.session, night, city=_city(), user=current_user, kind=None,
                                   allow_empty=False)
    except alloc.AllocationError as err:
        flash(str(err), "error")
        return redirect(_board_url(night))
    return redirect(url_for("intake.proposal", run_id=run.id))


def _run_or_404(run_id: int) -> AllocationRun:
    run = db.session.get(AllocationRun, run_id)
    if run is None or run.city != _city():
        abort(404)
    return run


@bp.get("/runs/<int:run_id>")
@roles_required(*STAFF)
def proposal(run_id: int):  # type: ignore[no-untyped-def]
    run = _run_or_404(run_id)
    data = intake_svc.proposal(db.session, run)
    # On a big night the placed are listed one site at a time: name only the people shown.
    groups = data.by_site(request.args.get("site", type=int))
    shown = data.turned_away + [pid for g in groups if g.shown for pid in g.people] + \
        [c.person.id for c in data.conflicts]
    audit.record(db.session, _actor(), "view_proposal", shown, f"run {run.id}")
    newest = alloc.latest_run(db.session, run.night, run.city)
    cold = cold_svc.cold_night(db.session, run.city, run.night)
    return render_template("intake/proposal.html", p=data, run=run, form=ButtonForm(),
                           is_newest=newest is not None and newest.id == run.id,
                           board_url=_board_url(run.night), cold=cold,
                           cold_away=cold_svc.still_turned_away(run) if cold else None,
                           groups=groups)


@bp.post("/runs/<int:run_id>/confirm")
@roles_required(*STAFF)
def confirm(run_id: int):  # type: ignore[no-untyped-def]
    run = _run_or_404(run_id)
    _require_all_sites()
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        counts = alloc.confirm_run(db.session, run, current_user)
    except alloc.AllocationError as err:
        flash(str(err), "error")
        return redirect(url_for("intake.proposal", run_id=run.id))
    flash(_("Confirmed: %(placed)s placed, %(away)s turned away.", placed=counts["placed"],
            away=counts["turned_away"]), "success")
    return redirect(_board_url(run.night))


@bp.route("/runs/<int:run_id>/people/<int:person_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def override(run_id: int, person_id: int):  # type: ignore[no-untyped-def]
    run = _run_or_404(run_id)
    person = db.session.get(Person, person_id)
    if person is None:
        abort(404)
    allowed = site_access.acting_sites(_actor())
    beds = [(b, free) for b, free in intake_svc.beds_for_override(db.session, run.night, run.city)
            if site_access.may_act_at(allowed, b.room.site_id)]
    current = db.session.scalar(alloc.active_placement_stmt(run.night, person_id))
    form = OverrideForm()
    form.bed.choices = [("", _("Choose a bed…")), ("none", _("No bed: turn away"))] + [
        (str(b.id), _bed_choice(b) if free else _("%(bed)s — taken", bed=_bed_choice(b)))
        for b, free in beds]
    status = 200
    if form.validate_on_submit():
        if not form.bed.data:
            form.bed.errors.append(_("Choose a bed, or 'No bed'."))
        else:
            to_bed = None if form.bed.data == "none" else int(form.bed.data)
            _require_sites(site_access.site_of_placement(current),
                           site_access.site_of_bed(db.session, to_bed))
            try:
                change = alloc.Change(run, person_id, to_bed, form.reason.data)
                alloc.override_placement(db.session, change, current_user)
            except alloc.OverrideRefused as err:
                target = form.reason if err.field == "reason" else form.bed
                target.errors.extend(err.problems)
            else:
                flash(_("Changed %(name)s: saved with your reason.", name=person.display_name),
                      "success")
                return redirect(url_for("intake.proposal", run_id=run.id))
    if form.errors:
        status = 422
    audit.record(db.session, None, "view", person_id, f"override form, run {run.id}")
    return render_template("intake/override.html", form=form, run=run, person=person,
                           current=current), status


@bp.post("/placements/<int:placement_id>/<action>")
@roles_required(*STAFF)
def placement_action(placement_id: int, action: str):  # type: ignore[no-untyped-def]
    placement = db.get_or_404(Placement, placement_id)
    _require_sites(site_access.site_of_placement(placement))
    form = {"release": ReleaseForm, "check-in": CheckInForm}.get(action, ButtonForm)()
    if action not in ("check-in", "no-show", "release") or not form.validate_on_submit():
        abort(400 if action in ("check-in", "no-show", "release") else 404)
    try:
        if action == "check-in":
            alloc.check_in(db.session, placement, current_user, form.reason.data or "")
        elif action == "no-show":
            alloc.mark_no_show(db.session, placement, current_user)
        else:
            alloc.release(db.session, placement, current_user, form.reason.data or "")
    except alloc.CheckInBarred as barred:
        # A ban or keep-apart pair recorded since the placement: warn, and ask for a reason.
        return render_template("intake/check_in_confirm.html", placement=placement,
                               problems=barred.problems, form=form,
                               back=_board_url(placement.night)), 409
    except alloc.AllocationError as err:
        flash(str(err), "error")
    else:
        name = placement.person.display_name
        done = {"check-in": _("%(name)s checked in.", name=name),
                "no-show": _("%(name)s marked as no-show.", name=name),
                "release": _("%(name)s released: the bed is free for the next run.",
                             name=name)}[action]
        flash(done, "success")
    return redirect(_board_url(placement.night) + f"#r{placement.person_id}")


def _placement_or_404(placement_id: int) -> Placement:
    placement = db.session.get(Placement, placement_id)
    if placement is None or placement.bed.room.site.city != _city():
        abort(404)
    return placement


@bp.route("/placements/<int:placement_id>/change", methods=["GET", "POST"])
@roles_required(*STAFF)
def change_placement(placement_id: int):  # type: ignore[no-untyped-def]
    """A confirmed placement whose person has not arrived: cancel, release or move it."""
    placement = _placement_or_404(placement_id)
    _require_sites(site_access.site_of_placement(placement))
    person = placement.person
    back = _board_url(placement.night) + f"#r{placement.person_id}"
    form = PlacementChangeForm()
    allowed = site_access.acting_sites(_actor())
    form.bed.choices = [SelectChoice("", _("Choose a bed…"))] + [
        SelectChoice(str(b.id), _bed_choice(b))
        for b, free in intake_svc.beds_for_override(db.session, placement.night, _city())
        if free and site_access.may_act_at(allowed, b.room.site_id)]
    if form.validate_on_submit():
        label = changes.bed_label(placement.bed)
        try:
            if form.action.data == "move":
                _require_sites(site_access.site_of_bed(db.session, int(form.bed.data)))
                changes.move_placement(db.session, placement, int(form.bed.data), current_user,
                                       form.reason.data)
                done = _("Moved %(name)s from %(old)s to %(new)s.", name=person.display_name,
                         old=label, new=changes.bed_label(placement.bed))
            elif form.action.data == "cancel":
                changes.cancel_placement(db.session, placement, current_user, form.reason.data)
                done = _("Cancelled %(name)s's bed (%(bed)s): the bed is free for the next "
                         "run.", name=person.display_name, bed=label)
            else:
                changes.release_unarrived(db.session, placement, current_user, form.reason.data)
                done = _("Released %(name)s's bed (%(bed)s) before check-in: the bed is free "
                         "for the next run.", name=person.display_name, bed=label)
        except alloc.OverrideRefused as err:
            form.bed.errors = list(form.bed.errors) + err.problems
        except alloc.AllocationError as err:
            flash(str(err), "error")
            return redirect(back)
        else:
            flash(done, "success")
            return redirect(back)
    audit.record(db.session, None, "view", placement.person_id, f"change form, placement {placement.id}")
    return render_template("intake/change.html", form=form, placement=placement, person=person,
                           back=back), 422 if form.errors else 200


@bp.post("/placements/<int:placement_id>/undo")
@roles_required(*STAFF)
def undo_placement(placement_id: int):  # type: ignore[no-untyped-def]
    placement = _placement_or_404(placement_id)
    _require_sites(*site_access.undo_sites(db.session, placement))
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        change = changes.undo_last(db.session, placement, current_user)
    except alloc.AllocationError as err:
        flash(str(err), "error")
    else:
        now = str(intake_svc.BOARD_STATUSES["placed"]) \
            if placement.status.value == "confirmed" else word(placement.status)
        flash(str(changes.UNDONE[change.action]) % {
            "name": placement.person.display_name, "status": now,
            "bed": changes.bed_label(placement.bed)}, "success")
    return redirect(_board_url(placement.night) + f"#r{placement.person_id}")


@bp.get("/turned-away")
@roles_required(*STAFF)
def turned_away():  # type: ignore[no-untyped-def]
    night = _night()
    return _turned_away_page(night, None, None)


def _turned_away_page(night: date, failed_id: int | None, failed_form: NoteForm | None,
                      status: int = 200):  # type: ignore[no-untyped-def]
    items = intake_svc.turned_away(db.session, night, _city())
    forms = {}
    for item in items:
        req = item.request
        if req.id == failed_id and failed_form is not None:
            forms[req.id] = failed_form
        else:
            forms[req.id] = NoteForm(formdata=None, prefix=f"r{req.id}",
                                     data={"note": req.note, "referred_to": req.referred_to or ""})
    audit.record(db.session, _actor(), "view_turned_away", [i.request.person_id for i in items], f"night {night}")
    return render_template("intake/turned_away.html", items=items, forms=forms, night=night,
                           board_url=_board_url(night), service_for=intake_svc.SERVICE_FOR), status


@bp.post("/requests/<int:request_id>/note")
@roles_required(*STAFF)
def save_note(request_id: int):  # type: ignore[no-untyped-def]
    req = db.session.get(Request, request_id)
    if req is None:
        abort(404)
    form = NoteForm(prefix=f"r{req.id}")
    if form.validate_on_submit():
        try:
            intake_svc.save_note(db.session, req, note=form.note.data or "",
                                 referred_to=form.referred_to.data or "", user=current_user)
        except intake_svc.NoteError as err:
            form.note.errors = [str(err)]
        else:
            flash(_("Saved the note for %(name)s.", name=req.person.display_name), "success")
            return redirect(url_for("intake.turned_away", night=req.night.isoformat())
                            + f"#t{req.id}")
    return _turned_away_page(req.night, req.id, form, 422)


@bp.get("/night-list")
@roles_required(*STAFF)
def night_list():  # type: ignore[no-untyped-def]
    """The printable list of one site's night (?site=ID&night=YYYY-MM-DD); without a site,
    the city's sites to choose from."""
    night = _night()
    raw = request.args.get("site", "")
    if not (raw.isascii() and raw.isdecimal()) or int(raw) > MAX_ID:
        sites = night_list_svc.sites_to_choose(db.session, night, _city())
        error = _("Choose one of the sites below.") if raw else None
        return render_template("intake/night_list.html", night=night, sites=sites, nl=None,
                               error=error, board_url=_board_url(night)), 422 if raw else 200
    site = night_list_svc.city_site(db.session, int(raw), _city())
    if site is None:
        abort(404)
    data = night_list_svc.night_list(db.session, site, night)
    audit.record(db.session, _actor(), "view_night_list", data.person_ids,
                 f"site {site.id}, night {night}")
    return render_template("intake/night_list.html", night=night, nl=data, printed_at=utcnow(),
                           board_url=_board_url(night))
