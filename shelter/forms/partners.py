"""Forms of the partner portal: pre-book a bed, cancel a pre-booking."""
from __future__ import annotations

from datetime import date, timedelta

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from shelter.models import Gender, OrganisationPerson, Site
from shelter.services.people import birth_year_problem

GENDER_LABELS = {Gender.WOMAN: "Woman", Gender.MAN: "Man", Gender.NONBINARY: "Non-binary",
                 Gender.UNKNOWN: "Not known / prefers not to say"}


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BookingForm(FlaskForm):
    person = SelectField("Person", validators=[DataRequired()])
    name = StringField("Name", validators=[Optional(), Length(max=120)])
    alias = StringField("Or an alias", validators=[Optional(), Length(max=120)])
    birth_year = IntegerField("Birth year", validators=[Optional()])
    gender = SelectField("Gender", validators=[Optional()])
    night = SelectField("Night", validators=[DataRequired()])
    site = SelectField("Site")
    needs = CheckboxesField("Bed needs")
    note = TextAreaField("Note for the shelter staff", validators=[Optional(), Length(max=500)])

    def fill_choices(self, *, today: date, days: int, people: list[OrganisationPerson],
                     sites: list[Site], features: list[str]) -> None:
        self.person.choices = [("new", "A new person")] + [
            (str(link.person_id), f"{link.person.display_name} · ref {link.ref}"
             + (f" · born {link.person.birth_year}" if link.person.birth_year else ""))
            for link in people]
        self.gender.choices = [("", "Choose…")] + [(g.value, GENDER_LABELS[g]) for g in Gender]
        nights = [today + timedelta(days=i) for i in range(days)]
        self.night.choices = [(n.isoformat(), ("Tonight, " if n == today else "")
                               + n.strftime("%a %d %b")) for n in nights]
        self.site.choices = [("", "Any suitable site")] + [(str(s.id), s.name) for s in sites]
        self.needs.choices = [(f, f.replace("_", " ").capitalize()) for f in features]
        self.current_year = today.year

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        """A new person needs a name or an alias and a gender; a plausible birth year."""
        ok = super().validate(extra_validators)
        if self.person.data == "new":
            if not (self.name.data or "").strip() and not (self.alias.data or "").strip():
                self.name.errors.append("Give a name or an alias.")
                ok = False
            if not self.gender.data:
                self.gender.errors.append("Choose a gender (or 'not known').")
                ok = False
        year = self.birth_year.data
        if problem := birth_year_problem(year, self.current_year):
            self.birth_year.errors.append(problem)
            ok = False
        return ok


class CancelForm(FlaskForm):
    """Only the CSRF token: cancelling needs no input."""
