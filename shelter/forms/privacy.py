"""The erasure form: the reason is required (it is written to the audit trail)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length

from shelter.i18n import _l


class EraseForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the erasure"), validators=[
        InputRequired(message=_l("Give the reason for the erasure.")),
        Length(max=2000, message=_l("At most %(max)d characters."))])
