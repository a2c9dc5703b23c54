"""The report filter: city, a range of nights, and (what-if) one night to replay."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from shelter.forms.fields import NightField
from flask_babel import lazy_pgettext
from shelter.i18n import _l


class ReportFilterForm(FlaskForm):
    """Read from the query string (GET), so no CSRF token: it changes nothing."""

    class Meta:
        csrf = False

    city = SelectField(_l("City"), validators=[DataRequired()])
    start = NightField(_l("First night"), validators=[Optional()])
    end = NightField(lazy_pgettext("the end of a period", "Last night"), validators=[Optional()])
    night = NightField(_l("Replay one night"), validators=[Optional()])


class ColdNightForm(FlaskForm):
    """Declare one night or a range of nights cold (kuldeberedskap)."""

    first = NightField(_l("First cold night"), validators=[Optional()])
    last = NightField(_l("Last cold night (empty: one night)"), validators=[Optional()])
    reason = TextAreaField(_l("Reason (e.g. the forecast)"), validators=[Optional(), Length(max=500)])


class HousingReferralForm(FlaskForm):
    """Mark one person "referred for housing follow-up" (a POST, so with a CSRF token)."""

    person = IntegerField(_l("Person to refer"), validators=[InputRequired(), NumberRange(min=1, max=2**31 - 1)])
    note = TextAreaField(_l("Note (who follows up, optional)"), validators=[Optional(), Length(max=1000)])
