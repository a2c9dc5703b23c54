"""Forms of the partner portal: pre-book a bed, cancel a pre-booking."""
from __future__ import annotations

from datetime import date, timedelta

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from shelter.i18n import _, _l, day_short
from shelter.models import OrganisationPerson, Site
from shelter.services.people import birth_year_problem
from shelter.words import GENDERS, choices, feature


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BookingForm(FlaskForm):
    person = SelectField(_l("Person"), validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    alias = StringField(_l("Or an alias"), validators=[Optional(), Length(max=120)])
    birth_year = IntegerField(_l("Birth year"), validators=[Optional()])
    gender = SelectField(_l("Gender"), validators=[Optional()])
    night = SelectField(_l("Night"), validators=[DataRequired()])
    site = SelectField(_l("Site"))
    needs = CheckboxesField(_l("Bed needs"))
    note = TextAreaField(_l("Note for the shelter staff"),
                         validators=[Optional(), Length(max=500)])

    def fill_choices(self, *, today: date, days: int, people: list[OrganisationPerson],
                     sites: list[Site], features: list[str]) -> None:
        self.person.choices = [("new", _("A new person"))] + [
            (str(link.person_id), _person_choice(link)) for link in people]
        self.gender.choices = [("", _("Choose…")), *choices(GENDERS)]
        nights = [today + timedelta(days=i) for i in range(days)]
        self.night.choices = [
            (n.isoformat(), _("Tonight, %(day)s", day=day_short(n)) if n == today
             else day_short(n)) for n in nights]
        self.site.choices = [("", _("Any suitable site"))] + [(str(s.id), s.name) for s in sites]
        self.needs.choices = [(f, feature(f).capitalize()) for f in features]
        self.current_year = today.year

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        """A new person needs a name or an alias and a gender; a plausible birth year."""
        ok = super().validate(extra_validators)
        if self.person.data == "new":
            if not (self.name.data or "").strip() and not (self.alias.data or "").strip():
                self.name.errors.append(_("Give a name or an alias."))
                ok = False
            if not self.gender.data:
                self.gender.errors.append(_("Choose a gender (or 'not known')."))
                ok = False
        year = self.birth_year.data
        if problem := birth_year_problem(year, self.current_year):
            self.birth_year.errors.append(problem)
            ok = False
        return ok


def _person_choice(link: OrganisationPerson) -> str:
    """"Kari Nordmann · ref R-1A2B · born 1990": someone the organisation referred before."""
    if link.person.birth_year:
        return _("%(name)s · ref %(ref)s · born %(year)s", name=link.person.display_name,
                 ref=link.ref, year=link.person.birth_year)
    return _("%(name)s · ref %(ref)s", name=link.person.display_name, ref=link.ref)


class CancelForm(FlaskForm):
    """The CSRF token and the confirmation: a POST without ``confirm=yes`` only shows what
    cancelling would do (the confirm page), so one stray click cancels nothing."""

    confirm = HiddenField()  # the confirm page sends "yes"
