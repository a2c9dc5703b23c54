"""Admin forms: sites, rooms, beds, outages, organisations, users, other services."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, IntegerField, PasswordField, SelectField, SelectMultipleField,
    StringField, TextAreaField, TimeField,
)
from wtforms.validators import (
    DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, Regexp,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from shelter.forms.fields import NightField
from shelter.models import GenderRule, OrgKind, Role
from shelter.services.accounts import MIN_PASSWORD
from shelter.services.admin import KNOWN_FEATURES



def choices(pairs: list[tuple[object, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 SelectChoice objects (tuples are deprecated)."""
    return [SelectChoice(value, label) for value, label in pairs]  # type: ignore[arg-type]


GENDER_CHOICES = choices([(GenderRule.MIXED.value, "Mixed"), (GenderRule.WOMEN.value, "Women only"),
                          (GenderRule.MEN.value, "Men only")])
FEATURE_CHOICES = choices([(f, f.replace("_", " ")) for f in KNOWN_FEATURES])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SiteForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    code = StringField("Code", validators=[
        DataRequired(), Length(max=40),
        Regexp(r"^[a-zA-Z0-9_-]+$", message="Letters, digits, - and _ only.")])
    city = StringField("City", validators=[DataRequired(), Length(max=60)])
    area = StringField("Area", validators=[Optional(), Length(max=120)])
    address = StringField("Address", validators=[Optional(), Length(max=200)])
    staffed_24h = BooleanField("Staffed 24 hours")
    intake_opens = TimeField("Intake opens", validators=[InputRequired()])
    intake_closes = TimeField("Intake closes", validators=[InputRequired()])
    checkin_cutoff = TimeField("Check-in cut-off", validators=[InputRequired()])
    hold_expiry = TimeField("Pre-bookings expire at", validators=[InputRequired()])
    min_age = IntegerField("Youngest age", validators=[Optional(), NumberRange(0, 120)])
    max_age = IntegerField("Oldest age", validators=[Optional(), NumberRange(0, 120)])
    active = BooleanField("Active (beds are offered)", default=True)


class AreaForm(FlaskForm):
    """An area of a city (exclusion orders cover areas; sites belong to one)."""

    city = StringField("City", validators=[DataRequired(), Length(max=60)])
    name = StringField("Area name", validators=[DataRequired(), Length(max=120)])


class RoomForm(FlaskForm):
    name = StringField("Room name", validators=[DataRequired(), Length(max=60)])
    gender = SelectField("Who may sleep here", choices=GENDER_CHOICES)
    from_night = NightField("From night", validators=[InputRequired()])


class NewRoomForm(RoomForm):
    overflow = BooleanField("Overflow room: in service on cold nights only (e.g. mattresses "
                            "in a day centre)")


class RetireForm(FlaskForm):
    last_night = NightField("Last night in use", validators=[InputRequired()])


class BedForm(FlaskForm):
    label = StringField("Label", validators=[DataRequired(), Length(max=40)])
    features = MultiCheckboxField("Features", choices=FEATURE_CHOICES)
    count = IntegerField("How many", default=1, validators=[InputRequired(), NumberRange(1, 60)])
    valid_from = NightField("From night", validators=[InputRequired()])


class BedEditForm(FlaskForm):
    label = StringField("Label", validators=[DataRequired(), Length(max=40)])
    features = MultiCheckboxField("Features", choices=FEATURE_CHOICES)


class OutageForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])
    starts_on = NightField("First night out", validators=[InputRequired()])
    ends_on = NightField("Last night out", validators=[Optional()])


class OrganisationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    kind = SelectField("Kind", choices=choices([(k.value, k.value.title()) for k in OrgKind]))
    active = BooleanField("Active", default=True)
    contact_email = StringField("Contact e-mail (told when a booking is claimed, expires, is cancelled or turned away)",
                                validators=[Optional(), Length(max=254)])
    webhook_url = StringField("Webhook address (for the organisation's own systems)",
                              validators=[Optional(), Length(max=500)])


class UserForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    display_name = StringField("Display name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices=choices([(r.value, r.value.title()) for r in Role]))
    organisation = SelectField("Organisation", coerce=int, default=0)
    sites = MultiCheckboxField("Sites (intake staff)", coerce=int)
    password = PasswordField("Password", validators=[Optional(), Length(max=200)])
    active = BooleanField("Active", default=True)


class PasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[
        DataRequired(), Length(min=MIN_PASSWORD, max=200,
                               message=f"Use at least {MIN_PASSWORD} characters.")])
    confirm = PasswordField("Repeat it", validators=[
        DataRequired(), EqualTo("password", message="The two passwords differ.")])
    must_change = BooleanField("They choose their own password at the next log-in",
                               default=True)


class ForcePasswordChangeForm(FlaskForm):
    """Only the CSRF token: the button asks the user for a new password at next log-in."""


class OtherServiceForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    city = StringField("City", validators=[DataRequired(), Length(max=60)])
    description = TextAreaField("What it offers", validators=[Optional(), Length(max=1000)])
    address = StringField("Address", validators=[Optional(), Length(max=200)])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    for_gender = SelectField("For", choices=choices([("", "Everyone"), ("woman", "Women only"),
                                                     ("man", "Men only")]))
    active = BooleanField("Active", default=True)


class QuotaForm(FlaskForm):
    """Only the CSRF token: the grid's number inputs are read from request.form by name."""
