"""Forms for the evening at intake. Buttons are forms too: they carry the CSRF token."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from shelter.i18n import _, _l


class ButtonForm(FlaskForm):
    """Allocate, confirm, check in, no-show: nothing to fill in but the CSRF token."""


class OverrideForm(FlaskForm):
    bed = SelectField(_l("New bed"), validate_choice=True)
    reason = TextAreaField(_l("Reason for the change"), validators=[
        DataRequired(message=_l("Give a reason: it is kept with the change.")), Length(max=500)])


class ReleaseForm(FlaskForm):
    reason = StringField(_l("Why the bed is free"), validators=[Length(max=200)])


class CheckInForm(FlaskForm):
    """Check-in; `reason` is required only when the rule book now bars the bed (a ban or
    keep-apart pair recorded after the placement was confirmed)."""

    reason = StringField(_l("Why check in despite this"), validators=[Length(max=500)])


class NoteForm(FlaskForm):
    referred_to = StringField(_l("Referred to"), validators=[Length(
        max=200, message=_l("Keep it under 200 characters (name the place)."))])
    note = TextAreaField(_l("Note"), validators=[Length(
        max=2000, message=_l("Keep the note under 2,000 characters."))])


class PlacementChangeForm(FlaskForm):
    """A confirmed placement whose person has not arrived: cancel, release or move it."""

    action = RadioField(_l("What happened"), choices=[
        SelectChoice("cancel", _l("Cancel: the person phoned, they do not need the bed tonight")),
        SelectChoice("release", _l("Release the bed: the person will not come")),
        SelectChoice("move", _l("Move to another bed"))],
        validators=[DataRequired(message=_l("Choose what to do with the placement."))])
    bed = SelectField(_l("New bed (for a move)"), validate_choice=False)
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(message=_l("Give a reason: it is kept with the change.")), Length(max=500)])

    def validate_bed(self, field: SelectField) -> None:
        """A move needs one of the listed beds; the other actions ignore the field."""
        if self.action.data != "move":
            return
        if not field.data:
            raise ValidationError(_("Choose the bed to move the person to."))
        if field.data not in {c.value for c in field.choices or []}:  # type: ignore[union-attr]
            raise ValidationError(_("Choose one of the free beds listed."))
