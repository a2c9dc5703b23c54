"""Forms for people, requests, assessments, the need scheme and safety records.

Forms only parse and check the shape of input; the rules (duplicates, one open request per
night, score caps, pairs) live in the services, whose errors the views put beside the field."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, FieldList, Form, FormField, HiddenField, IntegerField,
    RadioField, SelectField, SelectMultipleField, StringField, TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from shelter.forms.fields import NightField
from flask_babel import lazy_pgettext
from shelter.i18n import _, _l
from shelter.models import Gender, NeedScheme, RequestSource
from shelter.security import MAX_ID
from shelter.services.assessment import DERIVED_KINDS, GROUP_TITLES, factor_label, groups
from shelter.services.people import BED_FEATURES, WITHDRAW_REASONS


def options(pairs: list[tuple[str, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms options (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in pairs]


# The person form asks: no default hides the answer; "unknown" is stored for "prefers not to say".
# (words.GENDERS says "prefers not to say / not known" where a record is read; the form asks.)
GENDER_CHOICES = [(Gender.WOMAN.value, _l("Woman")), (Gender.MAN.value, _l("Man")),
                  (Gender.NONBINARY.value, _l("Nonbinary")),
                  (Gender.UNKNOWN.value, _l("Prefers not to say"))]
# How the request came in, as the form asks it (words.REQUEST_SOURCES are the short words).
SOURCES = [(RequestSource.WALK_IN.value, _l("Walk-in")), (RequestSource.PHONE.value, _l("Phone")),
           (RequestSource.PARTNER.value, _l("Partner referral"))]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def bed_needs_field(label: Any = _l("Bed needs")) -> MultiCheckboxField:
    return MultiCheckboxField(label, choices=options(list(BED_FEATURES.items())), validate_choice=True)


class PersonForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    refused_name = BooleanField(_l("Refused to give a name"))
    alias = StringField(_l("Alias or nickname"), validators=[Optional(), Length(max=120)])
    birth_year = IntegerField(_l("Birth year"), validators=[Optional()])
    age = IntegerField(_l("Age"), validators=[Optional(), NumberRange(
        min=0, max=110, message=_l("Age must be 0-110."))])
    gender = SelectField(_l("Gender"), choices=options([("", _l("Choose…"))] + GENDER_CHOICES),
                         validators=[InputRequired(
                             message=_l("Ask the person, or choose 'prefers not to say'."))])
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=40)])
    needs = bed_needs_field(_l("Standing bed needs"))
    confirm_duplicate = BooleanField(_l("This is a different person: create anyway"))

    def birth_year_for(self, this_year: int) -> int | None:
        """The birth year typed, else the one the age gives (age converts to birth year)."""
        if self.birth_year.data is not None:
            return int(self.birth_year.data)
        if self.age.data is not None:
            return this_year - int(self.age.data)
        return None


class PersonEditForm(PersonForm):
    """Correcting a record: the same fields as a new person, birth year only (no age)."""


class WithdrawForm(FlaskForm):
    reason = SelectField(_l("Why"), default="left", choices=options(list(WITHDRAW_REASONS.items())))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])


class RequestForm(FlaskForm):
    source = RadioField(_l("How did they ask?"), choices=options(SOURCES),
                        default=RequestSource.WALK_IN.value)
    needs = bed_needs_field(_l("Bed needs tonight"))
    preferred_site_id = SelectField(_l("Preferred site (optional)"), coerce=str, default="")
    assessment_id = RadioField(_l("Need assessment"), coerce=str, default="")
    note = TextAreaField(_l("Note for intake (optional)"), validators=[Optional(), Length(max=500)])


def assessment_form(scheme: NeedScheme, formdata: Any = None, data: dict[str, bool] | None = None
                    ) -> FlaskForm:
    """A form built from the scheme: one radio group per group of alternatives (with
    'Not known'), one checkbox per single factor. Field names: `group_<group>` and
    `f_<key>`; labels are the factor labels (built-in ones in the reader's language)."""

    class AssessmentForm(FlaskForm):
        note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])

    defaults: dict[str, Any] = {}
    data = data or {}
    for group, factors in groups(scheme):
        if group:
            title = GROUP_TITLES.get(group, group.replace("_", " ").capitalize())
            choices = [(f["key"], f"{factor_label(f)} ({f['points']})") for f in factors]
            choices.append(("", _("Not known")))
            setattr(AssessmentForm, f"group_{group}", RadioField(title, choices=options(choices), default=""))
            defaults[f"group_{group}"] = next((f["key"] for f in factors if data.get(f["key"])), "")
        else:
            f = factors[0]
            setattr(AssessmentForm, f"f_{f['key']}",
                    BooleanField(f"{factor_label(f)} ({f['points']})"))
            defaults[f"f_{f['key']}"] = bool(data.get(f["key"]))
    return AssessmentForm(formdata=formdata, data=None if formdata else defaults)


def answers_from(form: FlaskForm, scheme: NeedScheme) -> dict[str, bool]:
    """The form's answers as {factor key: bool}."""
    answers: dict[str, bool] = {}
    for group, factors in groups(scheme):
        if group:
            chosen = getattr(form, f"group_{group}").data or ""
            for f in factors:
                answers[f["key"]] = f["key"] == chosen
        else:
            answers[factors[0]["key"]] = bool(getattr(form, f"f_{factors[0]['key']}").data)
    return answers


class FactorForm(Form):
    key = HiddenField()
    label = StringField(_l("Label"))
    points = StringField(_l("Points"))  # parsed by the service so 'abc' or '1.5' gets a clear message
    group = StringField(_l("Group (alternatives)"))
    # Parts that follow from the record (services/assessment.py AGE_BANDS) are computed.
    derived = SelectField(_l("Computed from the record"), default="", validate_choice=False,
                          choices=options([("", _l("No: staff tick it"))]
                                          + list(DERIVED_KINDS.items())))
    remove = BooleanField(_l("Remove"))


class SchemeForm(FlaskForm):
    factors = FieldList(FormField(FactorForm))
    note = StringField(_l("What changed and why"), validators=[Optional(), Length(max=300)])


def _person_number(form: Form, field: Any) -> None:
    raw = str(field.raw_data[0] if field.raw_data else "").strip().lstrip("#")
    if raw and not raw.isdigit():
        raise ValidationError(_("Use the person number shown on their page, e.g. 42."))
    if raw and int(raw) > MAX_ID:
        raise ValidationError(_("No person has that number."))


class PersonNumberField(StringField):
    """A person number typed as '42' or '#42'."""

    def number(self) -> int | None:
        raw = (self.data or "").strip().lstrip("#")
        return int(raw) if raw.isdigit() and int(raw) <= MAX_ID else None


class BanForm(FlaskForm):
    person_id = PersonNumberField(_l("Person number"), validators=[_person_number])
    site_id = SelectField(_l("Site"), coerce=str, default="")
    area_id = SelectField(_l("Or an area"), coerce=str, default="")
    # Who issued it and what kind, as the ban form asks (words.AUTHORITIES and
    # words.BAN_CATEGORIES are the short words for tables).
    authority = SelectField(_l("Issued by"), default="staff", choices=options([
        ("staff", _l("Shelter staff")), ("police", _l("Police (exclusion order)")),
        ("municipality", _l("Municipality"))]))
    category = SelectField(_l("Kind of ban"), default="violence", choices=options([
        ("violence", _l("Violence or threats (holds on cold nights)")),
        ("drugs", _l("Drugs on site (suspended on cold nights)")),
        ("rules", _l("Rule breaking (suspended on cold nights)")),
        ("other", _l("Other (suspended on cold nights)"))]))
    starts_on = NightField(_l("First night"), validators=[Optional()])
    ends_on = NightField(lazy_pgettext("the end of a period", "Last night"), validators=[Optional()])
    review_on = NightField(_l("Or review by"), validators=[Optional()])
    issued_by = StringField(_l("Reference (e.g. case number, officer, site manager)"),
                            validators=[Optional(), Length(max=120)])
    reason = TextAreaField(_l("Reason (staff only)"), validators=[Optional(), Length(max=1000)])


class ReviewForm(FlaskForm):
    review_on = NightField(_l("Next review"), validators=[Optional()])


class KeepApartForm(FlaskForm):
    person_a_id = PersonNumberField(_l("First person number"), validators=[_person_number])
    person_b_id = PersonNumberField(_l("Second person number"), validators=[_person_number])
    starts_on = NightField(_l("First night"), validators=[Optional()])
    ends_on = NightField(_l("Last night (empty: until ended)"), validators=[Optional()])
    reason = TextAreaField(_l("Reason (staff only)"), validators=[Optional(), Length(max=1000)])


class MergeForm(FlaskForm):
    """Merge another record of the same person with this one (people/merge.html). The
    choosing step is a GET form (no CSRF); the Merge button posts the same fields."""

    other = PersonNumberField(_l("The other record's number"), validators=[_person_number])
    keep = RadioField(_l("Which record stays"), default="this",
                      choices=options([("this", _l("This record")),
                                       ("other", _l("The other record"))]))


def apply_errors(form: Any, errors: dict[str, str]) -> list[str]:
    """Put a service's {field name: reason} beside the matching fields ('factors-2-points'
    reaches into the scheme's rows); returns the reasons that match no field."""
    leftover: list[str] = []
    for name, reason in errors.items():
        target: Any = None
        parts = name.split("-")
        if len(parts) == 3 and parts[1].isdigit() and parts[0] in form._fields:
            entries = form[parts[0]].entries
            if int(parts[1]) < len(entries):
                target = entries[int(parts[1])].form._fields.get(parts[2])
        else:
            target = form._fields.get(name)
        if target is None:
            leftover.append(reason)
        else:
            target.errors = list(target.errors) + [reason]
    return leftover


class NoteForm(FlaskForm):
    """A staff note or incident on the person page (checked by services/notes.py)."""

    kind = RadioField(_l("Kind"), default="note", choices=options(
        [("note", _l("Note")), ("incident", _l("Incident"))]))
    text = TextAreaField(_l("What happened or what to know"))
    night = NightField(_l("Night it concerns (optional)"), validators=[Optional()])
