"""Intake's answer to a pending partner booking: hold a bed at a site, or refuse."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField

from shelter.i18n import _l


class ConfirmPendingForm(FlaskForm):
    site = SelectField(_l("Site"), validate_choice=True)


class RefusePendingForm(FlaskForm):
    """Only the CSRF token."""
