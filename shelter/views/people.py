"""People: search, create, the person page, requests for tonight, need assessment, the
scheme, safety records. Staff only (intake, manager, admin); partners get 403."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from shelter import clock
from shelter.auth import STAFF_ROLES, roles_required
from shelter.config import instance_city
from shelter.extensions import db
from shelter.i18n import _, day_month, day_short, ngettext, stamp
from shelter.forms.people import (
    BanForm, KeepApartForm, NoteForm, PersonEditForm, PersonForm, RequestForm, ReviewForm, SchemeForm,
    WithdrawForm, answers_from, apply_errors,
    assessment_form, options,
)
from shelter.models import Assessment, KeepApart, NeedScheme, Person, Restriction, Role, Site
from shelter.services import assessment as assessing
from shelter.services import audit
from shelter.services import history as history_svc
from shelter.services import notes as notes_svc
from shelter.services import people as people_svc
from shelter.services import admin as admin_svc
from shelter.services import allocation as alloc
from shelter.services import safety_conflicts as conflicts_svc
from shelter.services import safety as safety_svc
from shelter.services import site_access
from shelter.security import MAX_ID, local_path

bp = Blueprint("people", __name__)


@bp.app_template_filter("local")
def local_time(value: datetime | None) -> str:
    """A naive-UTC timestamp as local date and time, in the reader's language (i18n.stamp)."""
    return stamp(value)


@bp.app_template_global()
def factor_label(factor: dict[str, Any]) -> str:
    """A need factor's or assessment part's label (built-in ones translated)."""
    return assessing.factor_label(factor)


@bp.app_template_global()
def scheme_note(scheme: NeedScheme) -> str:
    return assessing.scheme_note(scheme)


@bp.app_template_global()
def ban_where(ban: Any) -> str:
    """Where a ban applies, in the reader's language (a site's name, an area, all sites)."""
    if ban.site is not None:
        return str(ban.site.name)
    if ban.area is not None:
        return _("area %(name)s", name=ban.area.name)
    return _("all sites")


def _status(form_or_errors: object) -> int:
    return 422 if form_or_errors else 200


@bp.get("/")
@roles_required(*STAFF_ROLES)
def search():  # type: ignore[no-untyped-def]
    q = request.args.get("q", "").strip()
    results = people_svc.search_people(db.session, q) if q else []
    audit.record(db.session, None, "list", [p.id for p in results], "search results")
    return render_template("people/search.html", q=q, results=results,
                           year=clock.tonight().year)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def new():  # type: ignore[no-untyped-def]
    form = PersonForm()
    if request.method == "GET" and request.args.get("q"):
        q = request.args["q"]
        unused, year = people_svc.parse_query(q)
        if year:
            before = q[:people_svc.YEAR_IN_QUERY.search(q.lower()).start()]  # type: ignore[union-attr]
            form.name.data = before.strip()
        else:
            form.name.data = q.strip()
        form.birth_year.data = year
    candidates: list[Person] = []
    this_year = clock.tonight().year
    if form.validate_on_submit():
        try:
            person = people_svc.create_person(
                db.session, name=form.name.data, alias=form.alias.data,
                refused_name=form.refused_name.data, birth_year=form.birth_year_for(this_year),
                gender=form.gender.data, phone=form.phone.data, needs=form.needs.data,
                user=current_user, confirm_duplicate=form.confirm_duplicate.data,
                this_year=this_year)
        except people_svc.PeopleError as err:
            apply_errors(form, err.errors)
        except people_svc.LikelyDuplicate as dup:
            candidates = dup.candidates
        else:
            flash(_("Created %(name)s (#%(number)s).", name=person.display_name,
                    number=person.id), "success")
            return redirect(url_for("people.show", person_id=person.id))
    failed = bool(form.errors) or bool(candidates)
    return render_template("people/new.html", form=form, candidates=candidates,
                           year=this_year), _status(failed)


@bp.get("/<int:person_id>")
@roles_required(*STAFF_ROLES)
def show(person_id: int):  # type: ignore[no-untyped-def]
    return _show_page(person_id)


def _show_page(person_id: int, note_form: NoteForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    night = clock.tonight()
    record = people_svc.person_record(db.session, person_id, night=night, user=current_user)
    if record is None:
        abort(404)
    from shelter.services.reports_housing import referral_of

    return render_template("people/show.html", r=record, night=night, p=record.person,
                           reuse_days=_reuse_days(), withdraw_form=WithdrawForm(formdata=None),
                           housing=referral_of(db.session, person_id),
                           counts=history_svc.night_counts(db.session, person_id, until=night),
                           notes=notes_svc.notes_of(db.session, person_id),
                           note_form=note_form or NoteForm(formdata=None)), status


@bp.post("/<int:person_id>/notes")
@roles_required(*STAFF_ROLES)
def add_note(person_id: int):  # type: ignore[no-untyped-def]
    """Append a note or incident to the person's log (staff only; audited)."""
    person = db.get_or_404(Person, person_id)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            notes_svc.add_note(db.session, person, kind=form.kind.data, text=form.text.data or "",
                               night=form.night.data, user=current_user)
        except notes_svc.NoteError as err:
            apply_errors(form, err.errors)
        else:
            flash(_("Note added to %(name)s's log.", name=person.display_name), "success")
            return redirect(url_for("people.show", person_id=person.id) + "#notes")
    return _show_page(person.id, note_form=form, status=422)


def _reuse_days() -> int:
    return int(current_app.config.get("ASSESSMENT_REUSE_DAYS", 7))


@bp.route("/<int:person_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def edit_person(person_id: int):  # type: ignore[no-untyped-def]
    """Correct a person's record (a wrong name, gender or birth year); changes are audited
    with the old and new values."""
    person = db.get_or_404(Person, person_id)
    form = PersonEditForm(obj=person)
    if form.validate_on_submit():
        try:
            changes = people_svc.update_person(
                db.session, person, name=form.name.data, alias=form.alias.data,
                refused_name=form.refused_name.data, birth_year=form.birth_year.data,
                gender=form.gender.data, phone=form.phone.data, needs=form.needs.data,
                user=current_user)
        except people_svc.PeopleError as err:
            apply_errors(form, err.errors)
        else:
            flash(ngettext("Saved %(name)s: %(num)d change.", "Saved %(name)s: %(num)d changes.",
                           len(changes), name=person.display_name) if changes
                  else _("Nothing changed."), "success")
            return redirect(url_for("people.show", person_id=person.id))
    audit.record(db.session, None, "view", person.id, "edit form")
    return render_template("people/edit.html", form=form, p=person), _status(form.errors)


@bp.route("/<int:person_id>/withdraw", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def withdraw(person_id: int):  # type: ignore[no-untyped-def]
    """Withdraw tonight's request. GET, or the person page's button (a POST without
    ``confirm=yes``), shows the confirm page: what withdrawing frees (bed, pre-booking), with
    the reason and note as typed; a POST with it withdraws. A refusal is shown beside the
    field on the confirm page (422), keeping what was typed."""
    person = db.get_or_404(Person, person_id)
    try:  # withdrawing frees a bed: site-bound staff only at their own sites
        site_access.check_sites(db.session, current_user._get_current_object(), [
            site_access.active_placement_site(db.session, person.id, clock.tonight())])
    except site_access.SiteRefused as err:
        abort(403, description=str(err))
    night = clock.tonight()
    form = WithdrawForm() if request.method == "POST" else WithdrawForm(formdata=None)
    valid = request.method == "POST" and form.validate_on_submit()
    status, problems = (422 if request.method == "POST" and not valid else 200), []
    if valid and _confirmed():
        try:
            people_svc.withdraw_request(db.session, person.id, night, reason=form.reason.data,
                                        note=form.note.data or "", user=current_user)
        except people_svc.PeopleError as err:
            problems, status = apply_errors(form, err.errors), 422
        else:
            flash(_("%(name)s's request for tonight is withdrawn.", name=person.display_name),
                  "success")
            return redirect(url_for("people.show", person_id=person.id))
    req = people_svc.open_request(db.session, person.id, night)
    placement = db.session.scalar(alloc.active_placement_stmt(night, person.id))
    audit.record(db.session, None, "view", person.id, "withdraw tonight's request?")
    return render_template("people/withdraw_confirm.html", form=form, p=person, req=req,
                           placement=placement, night=night, problems=problems), status


@bp.route("/<int:person_id>/request", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def request_bed(person_id: int):  # type: ignore[no-untyped-def]
    person = db.get_or_404(Person, person_id)
    night = clock.tonight()
    recent = assessing.recent_assessment(db.session, person.id, days=_reuse_days())
    sites = db.session.scalars(select(Site).where(
        Site.active.is_(True), Site.city == instance_city())
        .order_by(Site.name)).all()
    form = RequestForm()
    form.preferred_site_id.choices = options(
        [("", _("No preference"))] + [(str(s.id), s.name) for s in sites])
    form.assessment_id.choices = options(
        ([(str(recent.id), _("Use the assessment of %(day)s: need %(need)s",
                             day=day_month(recent.assessed_at), need=recent.need))]
         if recent else []) + [("", _("No assessment now (need counts as 0)"))])
    if request.method == "GET":
        form.needs.data = list(person.needs or [])
        form.assessment_id.data = str(recent.id) if recent else ""
    night_errors: list[str] = []
    existing = people_svc.open_request(db.session, person.id, night)
    if form.validate_on_submit():
        chosen = db.session.get(Assessment, int(form.assessment_id.data)) \
            if form.assessment_id.data else None
        try:
            req = people_svc.register_request(
                db.session, person, night, source=form.source.data, needs=form.needs.data,
                preferred_site_id=int(form.preferred_site_id.data) if form.preferred_site_id.data else None,
                assessment=chosen, user=current_user, note=form.note.data or "",
                city=instance_city())
        except people_svc.PeopleError as err:
            night_errors = apply_errors(form, err.errors)
        else:
            flash(_("%(name)s is registered for tonight: queue number %(arrival)s.",
                    name=person.display_name, arrival=req.arrival), "success")
            if request.args.get("next") == "board":
                return redirect(url_for("intake.board"))
            return redirect(url_for("people.show", person_id=person.id))
    failed = bool(form.errors) or bool(night_errors)
    return render_template("people/request.html", form=form, p=person, night=night,
                           recent=recent, existing=existing, night_errors=night_errors,
                           reuse_days=_reuse_days()), _status(failed)


@bp.route("/<int:person_id>/assess", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def assess(person_id: int):  # type: ignore[no-untyped-def]
    person = db.get_or_404(Person, person_id)
    scheme = assessing.current_scheme(db.session)
    night = clock.tonight()
    if request.method == "POST":
        form = assessment_form(scheme, formdata=request.form)
    else:
        form = assessment_form(scheme, data=assessing.prefill(scheme, person, night))
    problems: list[str] = []
    derived = assessing.derived_parts(scheme, person, night.year)
    if form.validate_on_submit():
        try:
            done = assessing.assess(db.session, person, answers_from(form, scheme),
                                    user=current_user, note=form.note.data or "", scheme=scheme,
                                    year=night.year)
        except assessing.DerivedMismatch as err:
            field = form[f"f_{err.key}"]
            field.errors = list(field.errors) + [str(err)]
        except assessing.AssessmentError as err:
            problems.append(str(err))
        else:
            parts = ", ".join(f"{assessing.factor_label(p)} {p['points']}" for p in done.parts)
            flash(_("Need %(need)s (%(parts)s).", need=done.need, parts=parts or _("no factors")),
                  "success")
            if request.args.get("next") == "request":
                return redirect(url_for("people.request_bed", person_id=person.id))
            return redirect(url_for("people.show", person_id=person.id))
    failed = bool(form.errors) or bool(problems)
    return render_template("people/assess.html", form=form, p=person, scheme=scheme,
                           groups=assessing.groups(scheme), problems=problems,
                           titles=assessing.GROUP_TITLES, derived=derived), _status(failed)


@bp.route("/scheme", methods=["GET", "POST"])
@roles_required(Role.MANAGER, Role.ADMIN)
def scheme():  # type: ignore[no-untyped-def]
    current = assessing.current_scheme(db.session)
    blank = {"key": "", "label": "", "points": "", "group": ""}
    if request.method == "POST":
        form = SchemeForm()
    else:
        # built-in labels in the reader's language (saved back as the built-in ones)
        form = SchemeForm(data={"factors": [dict(f, label=assessing.factor_label(f),
                                                 derived=assessing.derivation(f))
                                            for f in current.factors] + [blank]})
    leftover: list[str] = []
    if form.validate_on_submit():
        rows = [entry.form.data for entry in form.factors.entries]
        try:
            saved = assessing.save_scheme(db.session, rows, user=current_user,
                                          note=form.note.data or "")
        except assessing.SchemeError as err:
            leftover = apply_errors(form, err.errors)
        else:
            flash(_("Saved as version %(version)s. Earlier assessments keep their own parts.",
                    version=saved.version), "success")
            return redirect(url_for("people.scheme"))
    versions = db.session.scalars(select(NeedScheme).order_by(NeedScheme.version.desc())).all()
    failed = bool(form.errors) or any(e.form.errors for e in form.factors.entries) or bool(leftover)
    return render_template("people/scheme.html", form=form, current=current, versions=versions,
                           leftover=leftover, failed=failed), _status(failed)


# --- safety records -----------------------------------------------------------------------

def _back() -> str:
    """Where an 'End' button returns to: a local path only (no open redirect)."""
    return local_path(request.values.get("back"), "people.safety")


def _confirmed() -> bool:
    """A POST from the confirm page (``confirm=yes``; the CSRF token is checked for every
    POST). A GET, or a POST from an older page's one-click button, only asks."""
    return request.method == "POST" and request.form.get("confirm") == "yes"


def _ban_choices(form: BanForm) -> None:
    sites = db.session.scalars(select(Site).where(Site.active.is_(True)).order_by(Site.name)).all()
    form.site_id.choices = options([("", _("All sites"))] + [(str(s.id), s.name) for s in sites])
    form.area_id.choices = options([("", _("No area"))] + [
        (str(a.id), f"{a.name} ({a.city})") for a in admin_svc.list_areas(db.session)])


def _decisions() -> dict[str, conflicts_svc.Decision]:
    """Staff's decision per affected booking, from the decide step of the safety forms."""
    out: dict[str, conflicts_svc.Decision] = {}
    for name, action in request.form.items():
        if name.startswith("decision-"):
            key = name.removeprefix("decision-")
            bed = request.form.get(f"bed-{key}", "")
            out[key] = conflicts_svc.Decision(action, int(bed) if bed.isdigit() and len(bed) < 10
                                           else None, request.form.get(f"reason-{key}", ""))
    return out


def _safety_page(ban_form: BanForm | None = None, pair_form: KeepApartForm | None = None,
                 status: int = 200, decide: Any = None, decide_for: str = ""):  # type: ignore[no-untyped-def]
    today = clock.tonight()
    ban_form = ban_form or BanForm(prefix="ban", formdata=None)
    pair_form = pair_form or KeepApartForm(prefix="pair", formdata=None)
    _ban_choices(ban_form)
    person_id = request.args.get("person", type=int)
    named = db.session.get(Person, person_id) if person_id and 0 < person_id <= MAX_ID else None
    if request.method == "GET":
        ban_form.starts_on.data = ban_form.starts_on.data or today
        pair_form.starts_on.data = pair_form.starts_on.data or today
        if named is not None:
            ban_form.person_id.data = pair_form.person_a_id.data = str(named.id)
    bans = safety_svc.current_bans(db.session, today)
    pairs = safety_svc.current_keep_aparts(db.session, today)
    audit.record(db.session, None, "list", sorted({b.person_id for b in bans}
                                     | {p.person_a_id for p in pairs} | {p.person_b_id for p in pairs}), "safety records")
    return render_template("people/safety.html", ban_form=ban_form, pair_form=pair_form,
                           bans=bans, pairs=pairs, today=today, named=named, decide=decide,
                           decide_for=decide_for, chosen=request.form), status


@bp.get("/safety")
@roles_required(*STAFF_ROLES)
def safety():  # type: ignore[no-untyped-def]
    return _safety_page()


@bp.post("/safety/bans")
@roles_required(*STAFF_ROLES)
def add_ban():  # type: ignore[no-untyped-def]
    form = BanForm(prefix="ban")
    _ban_choices(form)
    if form.validate_on_submit():
        try:
            ban = safety_svc.add_ban(
                db.session, person_id=form.person_id.number(),
                site_id=int(form.site_id.data) if form.site_id.data else None,
                area_id=int(form.area_id.data) if form.area_id.data else None,
                authority=form.authority.data, category=form.category.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data, review_on=form.review_on.data,
                reason=form.reason.data or "", issued_by=form.issued_by.data or "", user=current_user,
                decisions=_decisions())
        except safety_svc.SafetyError as err:
            apply_errors(form, err.errors)
        except conflicts_svc.DecisionsNeeded as need:
            return _safety_page(ban_form=form, decide=need, decide_for="ban")
        else:
            flash(_("Ban added for %(name)s.", name=ban.person.display_name), "success")
            return redirect(url_for("people.safety"))
    return _safety_page(ban_form=form, status=422)


@bp.get("/safety/review")
@roles_required(*STAFF_ROLES)
def bans_review():  # type: ignore[no-untyped-def]
    """Bans due for review (or ending) this week, and overdue reviews."""
    due = safety_svc.bans_due(db.session, clock.tonight())
    audit.record(db.session, None, "list", sorted({b.person_id for b in due}), "bans due for review")
    return render_template("people/review.html", due=due, today=clock.tonight(),
                           form=ReviewForm(formdata=None))


@bp.post("/safety/bans/<int:ban_id>/review")
@roles_required(*STAFF_ROLES)
def review_ban(ban_id: int):  # type: ignore[no-untyped-def]
    form = ReviewForm()
    if not form.validate_on_submit():
        flash(_("Give the next review date as a date."), "warning")
        return redirect(url_for("people.bans_review"))
    try:
        ban = safety_svc.set_review(db.session, ban_id, form.review_on.data, user=current_user)
    except safety_svc.SafetyError as err:
        if "missing" in err.errors:
            abort(404)
        flash(str(next(iter(err.errors.values()))), "warning")
        return redirect(url_for("people.bans_review"))
    flash(_("Ban for %(name)s reviewed: next review %(day)s.", name=ban.person.display_name,
            day=day_short(ban.review_on)), "success")
    return redirect(url_for("people.bans_review"))


@bp.route("/safety/bans/<int:ban_id>/end", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def end_ban(ban_id: int):  # type: ignore[no-untyped-def]
    """GET, or a POST without ``confirm=yes``: the confirm page says what ending does.
    A POST with it ends the ban."""
    if not _confirmed():
        ban = db.get_or_404(Restriction, ban_id)
        audit.record(db.session, None, "view", ban.person_id, f"end ban #{ban.id}?")
        return render_template("people/end_confirm.html", ban=ban, pair=None, back=_back(),
                               today=clock.tonight())
    try:
        ban = safety_svc.end_ban(db.session, ban_id, user=current_user, today=clock.tonight())
    except safety_svc.SafetyError as err:
        if "missing" in err.errors:
            abort(404)
        flash(str(next(iter(err.errors.values()))), "warning")
        return redirect(_back())
    flash(_("Ban for %(name)s ended.", name=ban.person.display_name), "success")
    return redirect(_back())


@bp.post("/safety/keep-apart")
@roles_required(*STAFF_ROLES)
def add_keep_apart():  # type: ignore[no-untyped-def]
    form = KeepApartForm(prefix="pair")
    if form.validate_on_submit():
        try:
            safety_svc.add_keep_apart(
                db.session, person_a_id=form.person_a_id.number(),
                person_b_id=form.person_b_id.number(), starts_on=form.starts_on.data,
                ends_on=form.ends_on.data, reason=form.reason.data or "", user=current_user,
                decisions=_decisions())
        except safety_svc.SafetyError as err:
            apply_errors(form, err.errors)
        except conflicts_svc.DecisionsNeeded as need:
            return _safety_page(pair_form=form, decide=need, decide_for="pair")
        else:
            flash(_("Keep-apart pair added."), "success")
            return redirect(url_for("people.safety"))
    return _safety_page(pair_form=form, status=422)


@bp.route("/safety/keep-apart/<int:pair_id>/end", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def end_keep_apart(pair_id: int):  # type: ignore[no-untyped-def]
    """GET, or a POST without ``confirm=yes``: the confirm page says what ending does.
    A POST with it ends the pair."""
    if not _confirmed():
        pair = db.get_or_404(KeepApart, pair_id)
        audit.record(db.session, None, "view", [pair.person_a_id, pair.person_b_id],
                     f"end keep apart #{pair.id}?")
        return render_template("people/end_confirm.html", ban=None, pair=pair, back=_back(),
                               today=clock.tonight())
    try:
        safety_svc.end_keep_apart(db.session, pair_id, user=current_user,
                                  today=clock.tonight())
    except safety_svc.SafetyError as err:
        if "missing" in err.errors:
            abort(404)
        flash(str(next(iter(err.errors.values()))), "warning")
        return redirect(_back())
    flash(_("Keep-apart pair ended."), "success")
    return redirect(_back())


# --- merging two records of one person (services/people_merge.py) --------------------------

@bp.route("/<int:person_id>/merge", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def merge(person_id: int):  # type: ignore[no-untyped-def]
    """Choose the other record (by number or from a search) and which one stays, look at
    what would move (GET), then merge (POST, the confirm step). A conflict answers 422 with
    the sentence saying why; nothing is changed then."""
    from shelter.forms.people import MergeForm
    from shelter.services import people_merge as merge_svc

    person = db.get_or_404(Person, person_id)
    posted = request.method == "POST"
    form = MergeForm() if posted else MergeForm(request.args, meta={"csrf": False})
    q = request.args.get("q", "").strip()[:200]
    results = [p for p in people_svc.search_people(db.session, q) if p.id != person.id] if q else []
    if results:
        audit.record(db.session, None, "list", [p.id for p in results], "merge search results")
    plan, refused = None, []
    chosen = bool(form.other.data) and (posted or form.validate())
    if posted and not form.validate_on_submit():
        chosen = False
    if chosen:
        number = form.other.number()
        other = db.session.get(Person, number) if number is not None else None
        if other is None:
            form.other.errors = list(form.other.errors) + [_("No person has that number.")]
        else:
            survivor, merged = (person, other) if form.keep.data != "other" else (other, person)
            if posted:
                try:
                    done = merge_svc.merge_people(db.session, survivor.id, merged.id, current_user)
                except merge_svc.MergeRefused as err:
                    refused = err.reasons
                else:
                    flash(_("#%(merged)s is merged into #%(survivor)s (%(name)s).",
                            merged=done.merged.id, survivor=done.survivor.id,
                            name=done.survivor.display_name), "success")
                    return redirect(url_for("people.show", person_id=done.survivor.id))
            plan = merge_svc.preview(db.session, survivor, merged, current_user)
            refused = refused or plan.conflicts
    failed = bool(form.errors) or bool(refused)
    return render_template("people/merge.html", p=person, form=form, q=q, results=results,
                           plan=plan, refused=refused, night=clock.tonight()), _status(failed)
