"""The report filter: city, a range of nights, and (what-if) one night to replay."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional


class ReportFilterForm(FlaskForm):
    """Read from the query string (GET), so no CSRF token: it changes nothing."""

    class Meta:
        csrf = False

    city = SelectField("City", validators=[DataRequired()])
    start = DateField("First night", validators=[Optional()])
    end = DateField("Last night", validators=[Optional()])
    night = DateField("Replay one night", validators=[Optional()])


class ColdNightForm(FlaskForm):
    """Declare one night or a range of nights cold (kuldeberedskap)."""

    first = DateField("First cold night", validators=[Optional()])
    last = DateField("Last cold night (empty: one night)", validators=[Optional()])
    reason = TextAreaField("Reason (e.g. the forecast)", validators=[Optional(), Length(max=500)])


class HousingReferralForm(FlaskForm):
    """Mark one person "referred for housing follow-up" (a POST, so with a CSRF token)."""

    person = IntegerField("Person", validators=[InputRequired(), NumberRange(min=1, max=2**31 - 1)])
    note = TextAreaField("Note (who follows up, optional)", validators=[Optional(), Length(max=1000)])
