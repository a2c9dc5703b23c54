"""Forms for the evening at intake. Buttons are forms too: they carry the CSRF token."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError


class ButtonForm(FlaskForm):
    """Allocate, confirm, check in, no-show: nothing to fill in but the CSRF token."""


class OverrideForm(FlaskForm):
    bed = SelectField("New bed", validate_choice=True)
    reason = TextAreaField("Reason for the change", validators=[
        DataRequired(message="Give a reason: it is kept with the change."), Length(max=500)])


class ReleaseForm(FlaskForm):
    reason = StringField("Why the bed is free", validators=[Length(max=200)])


class CheckInForm(FlaskForm):
    """Check-in; `reason` is required only when the rule book now bars the bed (a ban or
    keep-apart pair recorded after the placement was confirmed)."""

    reason = StringField("Why check in despite this", validators=[Length(max=500)])


class NoteForm(FlaskForm):
    referred_to = StringField("Referred to", validators=[Length(
        max=200, message="Keep it under 200 characters (name the place).")])
    note = TextAreaField("Note", validators=[Length(
        max=2000, message="Keep the note under 2,000 characters.")])


class PlacementChangeForm(FlaskForm):
    """A confirmed placement whose person has not arrived: cancel, release or move it."""

    action = RadioField("What happened", choices=[
        SelectChoice("cancel", "Cancel: the person phoned, they do not need the bed tonight"),
        SelectChoice("release", "Release the bed: the person will not come"),
        SelectChoice("move", "Move to another bed")],
        validators=[DataRequired(message="Choose what to do with the placement.")])
    bed = SelectField("New bed (for a move)", validate_choice=False)
    reason = TextAreaField("Reason", validators=[
        DataRequired(message="Give a reason: it is kept with the change."), Length(max=500)])

    def validate_bed(self, field: SelectField) -> None:
        """A move needs one of the listed beds; the other actions ignore the field."""
        if self.action.data != "move":
            return
        if not field.data:
            raise ValidationError("Choose the bed to move the person to.")
        if field.data not in {c.value for c in field.choices or []}:  # type: ignore[union-attr]
            raise ValidationError("Choose one of the free beds listed.")
