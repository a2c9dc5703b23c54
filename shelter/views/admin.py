"""Admin (role admin only): sites, rooms, beds, outages, organisations, users, quotas,
other services, and a person's audit trail. Thin views: parse, check, one service call."""
from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from shelter import clock
from shelter.auth import roles_required
from shelter.extensions import db
from shelter.forms import admin as forms
from shelter.i18n import _, day_short, ngettext
from shelter.models import (
    ApiToken, Area, Bed, BedOutage, Organisation, OtherService, Role, Room, Site, User,
)
from shelter.services import accounts, admin as inventory, audit_log, mfa, tokens
from shelter.services.accounts import FieldError
from shelter.words import word

bp = Blueprint("admin", __name__)


@bp.before_request
@roles_required(Role.ADMIN)
def _admins_only() -> None:
    """Every admin page is for the admin role only (403 for others, login for anonymous)."""


def _today() -> date:
    return clock.tonight()


def _form_page(form: FlaskForm, title: str, back: str, status: int = 200, **extra: Any):
    return render_template("admin/form.html", form=form, title=title, back=back,
                           **extra), status


def _invalid(form: FlaskForm, err: FieldError, title: str, back: str, **extra: Any):
    """Show a service's FieldError beside its field; nothing is saved (status 422)."""
    field = getattr(form, err.field, None)
    if field is not None:
        field.errors = [*field.errors, err.message]
    else:
        extra["form_error"] = err.message
    return _form_page(form, title, back, 422, **extra)


def _status(form: FlaskForm) -> int:
    return 422 if form.errors else 200


# --- overview and sites -----------------------------------------------------------------

@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    sites = inventory.list_sites(db.session)
    today = _today()
    return render_template("admin/index.html", sites=sites, today=today,
                           summary=inventory.site_summaries(db.session, sites, today))


@bp.route("/sites/new", methods=["GET", "POST"])
def site_new():  # type: ignore[no-untyped-def]
    form = forms.SiteForm(city=current_app.config["CITY"], intake_opens=time(17),
                          intake_closes=time(23, 30), checkin_cutoff=time(23),
                          hold_expiry=time(21), staffed_24h=True)
    back = url_for("admin.index")
    if form.validate_on_submit():
        try:
            site = inventory.save_site(db.session, None, form.data)
        except FieldError as err:
            return _invalid(form, err, _("New site"), back)
        flash(_("Site %(site)s created. Now add its rooms and beds.", site=site.name), "success")
        return redirect(url_for("admin.site_show", site_id=site.id))
    return _form_page(form, _("New site"), back, _status(form))


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
def site_edit(site_id: int):  # type: ignore[no-untyped-def]
    site = db.get_or_404(Site, site_id)
    form = forms.SiteForm(obj=site)
    back = url_for("admin.site_show", site_id=site.id)
    title = _("Edit %(name)s", name=site.name)
    if form.validate_on_submit():
        try:
            inventory.save_site(db.session, site, form.data)
        except FieldError as err:
            return _invalid(form, err, title, back)
        flash(_("Site saved."), "success")
        return redirect(back)
    return _form_page(form, title, back, _status(form))


@bp.get("/sites/<int:site_id>")
def site_show(site_id: int):  # type: ignore[no-untyped-def]
    site = inventory.load_site(db.session, site_id) or db.get_or_404(Site, site_id)
    return render_template("admin/site.html", site=site, today=_today(),
                           current_outage=inventory.current_outage,
                           retire_form=forms.RetireForm(last_night=_today()))


@bp.route("/areas", methods=["GET", "POST"])
def areas():  # type: ignore[no-untyped-def]
    """Areas per city and their sites; an exclusion order names an area. New areas are added
    here or by naming them on a site; an area is renamed, never deleted (orders name it)."""
    form = forms.AreaForm(city=current_app.config["CITY"])
    if form.validate_on_submit():
        try:
            area = inventory.save_area(db.session, None, form.city.data, form.name.data)
        except FieldError as err:
            getattr(form, err.field).errors = [err.message]
        else:
            flash(_("Area %(area)s (%(city)s) saved.", area=area.name, city=area.city), "success")
            return redirect(url_for("admin.areas"))
    return render_template("admin/areas.html", areas=inventory.list_areas(db.session),
                           form=form), _status(form)


@bp.route("/areas/<int:area_id>/edit", methods=["GET", "POST"])
def area_edit(area_id: int):  # type: ignore[no-untyped-def]
    area = db.get_or_404(Area, area_id)
    form = forms.AreaForm(obj=area)
    back, title = url_for("admin.areas"), _("Rename area %(area)s", area=area.name)
    if form.validate_on_submit():
        try:
            inventory.save_area(db.session, area, form.city.data, form.name.data)
        except FieldError as err:
            return _invalid(form, err, title, back)
        flash(_("Area saved."), "success")
        return redirect(back)
    return _form_page(form, title, back, _status(form))


@bp.route("/sites/<int:site_id>/rooms/new", methods=["GET", "POST"])
def room_new(site_id: int):  # type: ignore[no-untyped-def]
    site = db.get_or_404(Site, site_id)
    form = forms.NewRoomForm(from_night=_today())
    back = url_for("admin.site_show", site_id=site.id)
    title = _("New room at %(site)s", site=site.name)
    if form.validate_on_submit():
        try:
            room = inventory.add_room(db.session, site, name=form.name.data,
                                      gender=form.gender.data, valid_from=form.from_night.data,
                                      overflow=form.overflow.data)
        except FieldError as err:
            return _invalid(form, err, title, back)
        flash(_("Room %(room)s added. Now add its beds.", room=room.name), "success")
        return redirect(url_for("admin.bed_new", room_id=room.id))
    return _form_page(form, title, back, _status(form))


@bp.route("/rooms/<int:room_id>/edit", methods=["GET", "POST"])
def room_edit(room_id: int):  # type: ignore[no-untyped-def]
    room = db.get_or_404(Room, room_id)
    form = forms.RoomForm(obj=room, from_night=_today() + timedelta(days=1))
    back = url_for("admin.site_show", site_id=room.site_id)
    title = _("Edit room %(room)s", room=room.name)
    note = _("Changing who may sleep here takes effect from the night you choose (tomorrow at "
             "the earliest). The room as it was stays in the history for past nights' reports.")
    if form.validate_on_submit():
        try:
            inventory.change_room(db.session, room, name=form.name.data,
                                  gender=form.gender.data, from_night=form.from_night.data,
                                  today=_today())
        except FieldError as err:
            return _invalid(form, err, title, back, note=note)
        flash(_("Room saved."), "success")
        return redirect(back)
    return _form_page(form, title, back, _status(form), note=note)


@bp.post("/rooms/<int:room_id>/retire")
def room_retire(room_id: int):  # type: ignore[no-untyped-def]
    room = db.get_or_404(Room, room_id)
    form = forms.RetireForm()
    back = url_for("admin.site_show", site_id=room.site_id)
    if form.validate_on_submit():
        try:
            inventory.retire_room(db.session, room, form.last_night.data)
        except FieldError as err:
            return _invalid(form, err, _("Retire room %(room)s", room=room.name), back)
        flash(_("Room %(room)s is in use through %(night)s.", room=room.name,
                night=day_short(form.last_night.data)), "success")
        return redirect(back)
    return _form_page(form, _("Retire room %(room)s", room=room.name), back, 422)


@bp.route("/rooms/<int:room_id>/beds/new", methods=["GET", "POST"])
def bed_new(room_id: int):  # type: ignore[no-untyped-def]
    room = db.get_or_404(Room, room_id)
    form = forms.BedForm(valid_from=max(_today(), room.valid_from))
    back = url_for("admin.site_show", site_id=room.site_id)
    title = _("Add beds to %(room)s (%(site)s)", room=room.name, site=room.site.name)
    note = _("With 'How many' above 1 the beds are labelled LABEL-01, LABEL-02 ...")
    if form.validate_on_submit():
        try:
            beds = inventory.add_beds(db.session, room, label=form.label.data,
                                      features=form.features.data or [],
                                      valid_from=form.valid_from.data, count=form.count.data)
        except FieldError as err:
            return _invalid(form, err, title, back, note=note)
        flash(ngettext("%(num)d bed added to %(room)s.", "%(num)d beds added to %(room)s.",
                       len(beds), room=room.name), "success")
        return redirect(back)
    return _form_page(form, title, back, _status(form), note=note)


@bp.route("/beds/<int:bed_id>", methods=["GET", "POST"])
def bed_edit(bed_id: int):  # type: ignore[no-untyped-def]
    bed = db.get_or_404(Bed, bed_id)
    form = forms.BedEditForm(obj=bed)
    outage_form = forms.OutageForm(starts_on=_today(), formdata=None)
    retire_form = forms.RetireForm(last_night=_today(), formdata=None)
    if form.validate_on_submit():
        try:
            inventory.update_bed(db.session, bed, label=form.label.data,
                                 features=form.features.data or [])
        except FieldError as err:
            form.label.errors = [*form.label.errors, err.message]
        else:
            flash(_("Bed saved."), "success")
            return redirect(url_for("admin.site_show", site_id=bed.room.site_id))
    return _bed_page(bed, form, outage_form, retire_form)


def _bed_page(bed: Bed, form: FlaskForm, outage_form: FlaskForm, retire_form: FlaskForm):
    status = 422 if (form.errors or outage_form.errors or retire_form.errors) else 200
    return render_template("admin/bed.html", bed=bed, form=form, outage_form=outage_form,
                           retire_form=retire_form, today=_today()), status


@bp.post("/beds/<int:bed_id>/outages")
def outage_new(bed_id: int):  # type: ignore[no-untyped-def]
    bed = db.get_or_404(Bed, bed_id)
    outage_form = forms.OutageForm()
    if outage_form.validate_on_submit():
        try:
            inventory.add_outage(db.session, bed, reason=outage_form.reason.data,
                                 starts_on=outage_form.starts_on.data,
                                 ends_on=outage_form.ends_on.data)
        except FieldError as err:
            getattr(outage_form, err.field).errors.append(err.message)
        else:
            flash(_("Bed %(bed)s is out of service from %(night)s.", bed=bed.label,
                    night=day_short(outage_form.starts_on.data)), "success")
            return redirect(url_for("admin.bed_edit", bed_id=bed.id))
    return _bed_page(bed, forms.BedEditForm(obj=bed, formdata=None), outage_form,
                     forms.RetireForm(last_night=_today(), formdata=None))


@bp.post("/outages/<int:outage_id>/end")
def outage_end(outage_id: int):  # type: ignore[no-untyped-def]
    outage = db.get_or_404(BedOutage, outage_id)
    last = max(_today() - timedelta(days=1), outage.starts_on)
    inventory.end_outage(db.session, outage, last)
    flash(_("Bed %(bed)s is back in service after %(night)s.", bed=outage.bed.label,
            night=day_short(last)), "success")
    return redirect(url_for("admin.bed_edit", bed_id=outage.bed_id))


@bp.post("/beds/<int:bed_id>/retire")
def bed_retire(bed_id: int):  # type: ignore[no-untyped-def]
    bed = db.get_or_404(Bed, bed_id)
    retire_form = forms.RetireForm()
    if retire_form.validate_on_submit():
        try:
            inventory.retire_bed(db.session, bed, retire_form.last_night.data)
        except FieldError as err:
            retire_form.last_night.errors.append(err.message)
        else:
            flash(_("Bed %(bed)s is in use through %(night)s.", bed=bed.label,
                    night=day_short(retire_form.last_night.data)), "success")
            return redirect(url_for("admin.site_show", site_id=bed.room.site_id))
    return _bed_page(bed, forms.BedEditForm(obj=bed, formdata=None),
                     forms.OutageForm(starts_on=_today(), formdata=None), retire_form)


# --- organisations, users, quotas, other services -----------------------------------------

@bp.get("/organisations")
def organisations():  # type: ignore[no-untyped-def]
    return render_template("admin/organisations.html",
                           organisations=accounts.list_organisations(db.session))


@bp.route("/organisations/new", methods=["GET", "POST"], defaults={"org_id": None})
@bp.route("/organisations/<int:org_id>/edit", methods=["GET", "POST"])
def organisation_edit(org_id: int | None):  # type: ignore[no-untyped-def]
    org = db.get_or_404(Organisation, org_id) if org_id else None
    form = forms.OrganisationForm(obj=org)
    back = url_for("admin.organisations")
    title = _("Edit %(name)s", name=org.name) if org else _("New organisation")
    if form.validate_on_submit():
        try:
            saved = accounts.save_organisation(
                db.session, org, name=form.name.data, kind=form.kind.data,
                active=form.active.data, contact_email=form.contact_email.data,
                webhook_url=form.webhook_url.data)
        except FieldError as err:
            return _invalid(form, err, title, back, org=org, secret_form=FlaskForm())
        if saved.webhook_url and not saved.webhook_secret:
            return _show_secret(saved)
        flash(_("Organisation saved."), "success")
        return redirect(back)
    return _form_page(form, title, back, _status(form), org=org, secret_form=FlaskForm())


def _show_secret(org: Organisation):
    """The signing secret, on this one page only (it is never shown again)."""
    secret = accounts.rotate_webhook_secret(db.session, org)
    return render_template("admin/webhook_secret.html", org=org, secret=secret,
                           back=url_for("admin.organisation_edit", org_id=org.id))


@bp.post("/organisations/<int:org_id>/webhook-secret")
def organisation_webhook_secret(org_id: int):  # type: ignore[no-untyped-def]
    """Generate a new webhook secret (the old one stops working) and show it once."""
    org = db.get_or_404(Organisation, org_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    return _show_secret(org)


@bp.route("/organisations/<int:org_id>/tokens", methods=["GET", "POST"])
def organisation_tokens(org_id: int):  # type: ignore[no-untyped-def]
    """The organisation's API tokens (prefixes only); a new one is shown once, here."""
    org = db.get_or_404(Organisation, org_id)
    form = forms.TokenForm()
    raw = None
    if form.validate_on_submit():
        raw = tokens.create_token(db.session, org.name, (form.label.data or "").strip())
        form.label.data = ""  # made: the form is for the next one
    return render_template("admin/tokens.html", org=org, form=form, raw=raw,
                           tokens=tokens.list_tokens(db.session, org.id),
                           revoke_form=FlaskForm()), _status(form)


@bp.post("/tokens/<int:token_id>/revoke")
def token_revoke(token_id: int):  # type: ignore[no-untyped-def]
    token = db.get_or_404(ApiToken, token_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if tokens.revoke(db.session, token):
        flash(_("Token %(prefix)s is revoked: calls with it are refused from now on.",
                prefix=token.prefix), "success")
    return redirect(url_for("admin.organisation_tokens", org_id=token.organisation_id))


@bp.get("/users")
def users():  # type: ignore[no-untyped-def]
    return render_template("admin/users.html", users=accounts.list_users(db.session))


def _user_form(user: User | None) -> forms.UserForm:
    initial: dict[str, Any] = {}
    if user is not None:
        initial = {"username": user.username, "display_name": user.display_name,
                   "role": user.role.value, "organisation": user.organisation_id or 0,
                   "sites": [s.id for s in user.sites], "active": user.active}
    form = forms.UserForm(**initial)
    orgs = accounts.list_organisations(db.session)
    form.organisation.choices = forms.choices([(0, _("None (staff)"))]
                                              + [(o.id, o.name) for o in orgs])
    form.sites.choices = forms.choices([(s.id, s.name) for s in inventory.list_sites(db.session)])
    return form


def _user_inputs(form: forms.UserForm) -> dict[str, Any]:
    sites = [db.session.get(Site, i) for i in form.sites.data or []]
    org = db.session.get(Organisation, form.organisation.data) if form.organisation.data else None
    return {"display_name": form.display_name.data, "role": form.role.data,
            "organisation": org, "sites": [s for s in sites if s is not None]}


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():  # type: ignore[no-untyped-def]
    form, back, title = _user_form(None), url_for("admin.users"), _("New user")
    if form.validate_on_submit():
        try:
            user = accounts.create_user(db.session, username=form.username.data,
                                        password=form.password.data or "", **_user_inputs(form))
        except FieldError as err:
            return _invalid(form, err, title, back)
        flash(_("User %(username)s created.", username=user.username), "success")
        return redirect(back)
    return _form_page(form, title, back, _status(form))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_edit(user_id: int):  # type: ignore[no-untyped-def]
    user = db.get_or_404(User, user_id)
    form, back = _user_form(user), url_for("admin.users")
    title = _("Edit %(name)s", name=user.username)
    del form.password  # set on its own form below
    form.username.render_kw = {"readonly": True}
    password_form = forms.PasswordForm(formdata=None)
    extra = {"password_form": password_form, "user": user}
    if form.validate_on_submit():
        try:
            accounts.update_user(db.session, user, active=form.active.data,
                                 acting=current_user, **_user_inputs(form))
        except FieldError as err:
            return _invalid(form, err, title, back, **extra)
        flash(_("User saved."), "success")
        return redirect(back)
    return _form_page(form, title, back, _status(form), **extra)


@bp.post("/users/<int:user_id>/password")
def user_password(user_id: int):  # type: ignore[no-untyped-def]
    user = db.get_or_404(User, user_id)
    password_form = forms.PasswordForm()
    if password_form.validate_on_submit():
        try:
            accounts.reset_password(db.session, user, password_form.password.data,
                                    must_change=password_form.must_change.data)
        except FieldError as err:
            password_form.password.errors.append(err.message)
        else:
            flash(_("New password set for %(username)s; they are logged out everywhere.",
                    username=user.username), "success")
            return redirect(url_for("admin.users"))
    form = _user_form(user)
    del form.password
    form.username.render_kw = {"readonly": True}
    return _form_page(form, _("Edit %(name)s", name=user.username), url_for("admin.users"), 422,
                      password_form=password_form, user=user)


@bp.post("/users/<int:user_id>/force-password-change")
def user_force_password_change(user_id: int):  # type: ignore[no-untyped-def]
    user = db.get_or_404(User, user_id)
    if forms.ForcePasswordChangeForm().validate_on_submit():
        accounts.force_password_change(db.session, user)
        flash(_("%(username)s is logged out and must choose a new password at the next "
                "log-in.", username=user.username), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<int:user_id>/mfa-reset")
def user_mfa_reset(user_id: int):  # type: ignore[no-untyped-def]
    """Take away a user's second factor (a lost phone); audited as security.mfa_reset."""
    user = db.get_or_404(User, user_id)
    if FlaskForm().validate_on_submit():
        mfa.reset(db.session, user, current_user._get_current_object())  # type: ignore[attr-defined]
        flash(_("%(username)s has no second factor now and is logged out everywhere.",
                username=user.username), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/quotas", methods=["GET", "POST"])
def quotas():  # type: ignore[no-untyped-def]
    form = forms.QuotaForm()
    orgs = [o for o in accounts.list_organisations(db.session) if o.active]
    sites = [s for s in inventory.list_sites(db.session) if s.active]
    grid: dict[tuple[int, int], Any] = dict(accounts.quota_grid(db.session))
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        values: dict[tuple[int, int], int | None] = {}
        for org in orgs:
            for site in sites:
                raw = request.form.get(f"q-{org.id}-{site.id}", "").strip()
                grid[(org.id, site.id)] = raw
                if raw and not raw.isdigit():
                    errors[f"q-{org.id}-{site.id}"] = _("A whole number, 0 or more.")
                values[(org.id, site.id)] = int(raw) if raw.isdigit() else None
        if not errors:
            accounts.save_quotas(db.session, values)
            flash(_("Quotas saved."), "success")
            return redirect(url_for("admin.quotas"))
    return render_template("admin/quotas.html", form=form, orgs=orgs, sites=sites, grid=grid,
                           errors=errors), 422 if errors or form.errors else 200


@bp.get("/services")
def services():  # type: ignore[no-untyped-def]
    return render_template("admin/services.html",
                           services=inventory.list_other_services(db.session))


@bp.route("/services/new", methods=["GET", "POST"], defaults={"service_id": None})
@bp.route("/services/<int:service_id>/edit", methods=["GET", "POST"])
def service_edit(service_id: int | None):  # type: ignore[no-untyped-def]
    service = db.get_or_404(OtherService, service_id) if service_id else None
    form = forms.OtherServiceForm(obj=service, city=current_app.config["CITY"])
    back = url_for("admin.services")
    title = _("Edit %(name)s", name=service.name) if service else _("New other service")
    if form.validate_on_submit():
        inventory.save_other_service(db.session, service,
                                     form.data | {"for_gender": form.for_gender.data or None})
        flash(_("Saved."), "success")
        return redirect(back)
    return _form_page(form, title, back, _status(form))


@bp.get("/people/audit")
def audit_lookup():  # type: ignore[no-untyped-def]
    """The small 'audit trail of person #' form on the admin start page."""
    person_id = request.args.get("person", "").strip().lstrip("#")
    if not person_id.isdigit():
        flash(_("Give a person's number, e.g. 42."), "error")
        return redirect(url_for("admin.index"))
    return redirect(url_for("admin.person_audit", person_id=int(person_id)))


@bp.get("/people/<int:person_id>/audit")
def person_audit(person_id: int):  # type: ignore[no-untyped-def]
    """A person's trail (events naming them alone or among others), filtered by action,
    user and local dates; bad filter input is shown beside its field (422)."""
    form = _audit_filter(audit_log.person_action_codes(db.session, person_id))
    filt = _filter_of(form)
    person, page = inventory.person_audit_trail(db.session, person_id,
                                                filt or audit_log.AuditFilter(), _page_number())
    if person is None:
        abort(404)
    if filt is None:
        page = audit_log.Page([], 1, False)
    return render_template("admin/audit.html", person=person, page=page, form=form,
                           role_label=_role_label, action_label=audit_log.action_label,
                           filtered=_filtered(form), page_url=_page_url), \
        422 if form.errors else 200


@bp.get("/security")
def security_events():  # type: ignore[no-untyped-def]
    """Security events (log-ins, user, organisation and token changes), newest first,
    filtered by action, user and local dates; bad filter input beside its field (422)."""
    form = _audit_filter(audit_log.security_action_codes(db.session), worded=True)
    filt = _filter_of(form)
    page = (audit_log.security_events(db.session, filt, _page_number()) if filt is not None
            else audit_log.Page([], 1, False))
    return render_template("admin/security.html", page=page, form=form,
                           role_label=_role_label, action_label=audit_log.action_label,
                           filtered=_filtered(form), page_url=_page_url), \
        422 if form.errors else 200


def _audit_filter(codes: list[str], worded: bool = False) -> forms.AuditFilterForm:
    form = forms.AuditFilterForm(formdata=request.args)
    form.action.choices = forms.choices(
        [("", _("All actions"))]
        + [(c, audit_log.action_label(c) if worded else c) for c in codes])
    return form


def _filter_of(form: forms.AuditFilterForm) -> audit_log.AuditFilter | None:
    """The filter typed, or None when a field is wrong (the errors sit on the form)."""
    if not form.validate():
        return None
    return audit_log.AuditFilter(action=form.action.data or None,
                                 username=(form.user.data or "").strip() or None,
                                 start=form.start.data, end=form.end.data)


def _filtered(form: forms.AuditFilterForm) -> bool:
    return any(request.args.get(name) for name in ("action", "user", "start", "end"))


def _page_url(number: int) -> str:
    """This page's address with the same filter, at page `number`."""
    args = {**request.args.to_dict(), "page": number}
    return url_for(request.endpoint or "admin.index", **(request.view_args or {}), **args)


def _page_number() -> int:
    """?page=N (from 1); anything else is the first page."""
    raw = request.args.get("page", "")
    return int(raw) if raw.isdigit() and len(raw) <= 6 and int(raw) > 0 else 1


def _role_label(code: str) -> str:
    """An audit row's role as recorded ("intake", "system"...), worded like the roles."""
    try:
        return word(Role(code))
    except ValueError:
        return _("system") if code == "system" else code
