"""Admin forms: sites, rooms, beds, outages, organisations, users, other services."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DateField, IntegerField, PasswordField, SelectField, SelectMultipleField,
    StringField, TextAreaField, TimeField,
)
from wtforms.validators import (
    DataRequired, ValidationError, EqualTo, InputRequired, Length, NumberRange, Optional, Regexp,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from shelter import words
from shelter.forms.fields import NightField
from shelter.clock import FIRST_NIGHT, LAST_NIGHT, night_in_range
from shelter.i18n import _, _l, day_short
from shelter.services.accounts import MIN_PASSWORD
from shelter.services.admin import KNOWN_FEATURES


def choices(pairs: list[tuple[object, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 SelectChoice objects (tuples are deprecated)."""
    return [SelectChoice(value, label) for value, label in pairs]  # type: ignore[arg-type]


# Labels are lazy (words.py): worded in the language of the request that renders the form.
GENDER_CHOICES = choices(words.choices(words.GENDER_RULES))
FEATURE_CHOICES = choices([(f, words.FEATURES.get(f, f.replace("_", " "))) for f in KNOWN_FEATURES])
ORG_KIND_CHOICES = choices(words.choices(words.ORG_KINDS))
ROLE_CHOICES = choices(words.choices(words.ROLES))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SiteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    code = StringField(_l("Code"), validators=[
        DataRequired(), Length(max=40),
        Regexp(r"^[a-zA-Z0-9_-]+$", message=_l("Letters, digits, - and _ only."))])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=60)])
    area = StringField(_l("Area"), validators=[Optional(), Length(max=120)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    staffed_24h = BooleanField(_l("Staffed 24 hours"))
    intake_opens = TimeField(_l("Intake opens"), validators=[InputRequired()])
    intake_closes = TimeField(_l("Intake closes"), validators=[InputRequired()])
    checkin_cutoff = TimeField(_l("Check-in cut-off"), validators=[InputRequired()])
    hold_expiry = TimeField(_l("Pre-bookings expire at"), validators=[InputRequired()])
    min_age = IntegerField(_l("Youngest age"), validators=[Optional(), NumberRange(0, 120)])
    max_age = IntegerField(_l("Oldest age"), validators=[Optional(), NumberRange(0, 120)])
    active = BooleanField(_l("Active (beds are offered)"), default=True)


class AreaForm(FlaskForm):
    """An area of a city (exclusion orders cover areas; sites belong to one)."""

    city = StringField(_l("City"), validators=[DataRequired(), Length(max=60)])
    name = StringField(_l("Area name"), validators=[DataRequired(), Length(max=120)])


class RoomForm(FlaskForm):
    name = StringField(_l("Room name"), validators=[DataRequired(), Length(max=60)])
    gender = SelectField(_l("Who may sleep here"), choices=GENDER_CHOICES)
    from_night = NightField(_l("From night"), validators=[InputRequired()])


class NewRoomForm(RoomForm):
    overflow = BooleanField(_l("Overflow room: in service on cold nights only (e.g. mattresses "
                               "in a day centre)"))


class RetireForm(FlaskForm):
    last_night = NightField(_l("Last night in use"), validators=[InputRequired()])


class BedForm(FlaskForm):
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=40)])
    features = MultiCheckboxField(_l("Features"), choices=FEATURE_CHOICES)
    count = IntegerField(_l("How many"), default=1, validators=[InputRequired(), NumberRange(1, 60)])
    valid_from = NightField(_l("From night"), validators=[InputRequired()])


class BedEditForm(FlaskForm):
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=40)])
    features = MultiCheckboxField(_l("Features"), choices=FEATURE_CHOICES)


class OutageForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    starts_on = NightField(_l("First night out"), validators=[InputRequired()])
    ends_on = NightField(_l("Last night out"), validators=[Optional()])


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    kind = SelectField(_l("Kind"), choices=ORG_KIND_CHOICES)
    active = BooleanField(_l("Active"), default=True)
    contact_email = StringField(_l("Contact e-mail (told when a booking is claimed, expires, is cancelled or turned away)"),
                                validators=[Optional(), Length(max=254)])
    webhook_url = StringField(_l("Webhook address (for the organisation's own systems)"),
                              validators=[Optional(), Length(max=500)])


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    organisation = SelectField(_l("Organisation"), coerce=int, default=0)
    sites = MultiCheckboxField(
        _l("Sites (intake staff)"), coerce=int,
        description=_l("The sites this intake user may act at; their board opens on them. "
                       "Tick none for all sites."))
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=200)])
    active = BooleanField(_l("Active"), default=True)


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD, max=200,
                               message=_l("Use at least %(min)s characters."))])
    confirm = PasswordField(_l("Repeat it"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])
    must_change = BooleanField(_l("They choose their own password at the next log-in"),
                               default=True)


class ForcePasswordChangeForm(FlaskForm):
    """Only the CSRF token: the button asks the user for a new password at next log-in."""


class OtherServiceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=60)])
    description = TextAreaField(_l("What it offers"), validators=[Optional(), Length(max=1000)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    for_gender = SelectField(_l("For"), choices=choices([("", _l("Everyone")), ("woman", _l("Women only")),
                                                     ("man", _l("Men only"))]))
    active = BooleanField(_l("Active"), default=True)


class QuotaForm(FlaskForm):
    """Only the CSRF token: the grid's number inputs are read from request.form by name."""


class DayField(DateField):
    """A local calendar date typed as YYYY-MM-DD; a date outside the years the system holds
    is an error beside the field (it would overflow the time-zone arithmetic: a 500)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not night_in_range(self.data):
            self.data = None
            raise ValueError(_("Choose a date between %(first)s and %(last)s.",
                               first=day_short(FIRST_NIGHT), last=day_short(LAST_NIGHT)))


class AuditFilterForm(FlaskForm):
    """The audit pages' filter (GET, so no CSRF token): the action is one of the choices the
    view sets, the dates are local and 'to' may not be before 'from'."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), default="", validate_choice=False)
    user = StringField(_l("User (username)"), validators=[Optional(), Length(max=80)])
    start = DayField(_l("From date"), validators=[Optional()])
    end = DayField(_l("To date"), validators=[Optional()])

    def validate_action(self, field: SelectField) -> None:
        if field.data and field.data not in {str(c.value) for c in field.choices}:
            raise ValidationError(_("Choose an action from the list."))

    def validate_end(self, field: DayField) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_("The last date is before the first date."))


class TokenForm(FlaskForm):
    """A new API token for an organisation's own system; the label says which system."""

    label = StringField(_l("What the token is for (e.g. the partner's case system)"),
                        validators=[Optional(), Length(max=120)])
