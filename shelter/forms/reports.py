"""The report filter: city, a range of nights, and (what-if) one night to replay."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import DataRequired, Optional

from shelter.forms.fields import NightField


class ReportFilterForm(FlaskForm):
    """Read from the query string (GET), so no CSRF token: it changes nothing."""

    class Meta:
        csrf = False

    city = SelectField("City", validators=[DataRequired()])
    start = NightField("First night", validators=[Optional()])
    end = NightField("Last night", validators=[Optional()])
    night = NightField("Replay one night", validators=[Optional()])
