"""Forms for the evening at intake. Buttons are forms too: they carry the CSRF token."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SearchField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from shelter.i18n import _, _l


class BoardFilterForm(FlaskForm):
    """The board's search and filters: a GET form (the URL can be shared), read from the
    query string. An invalid value is shown beside its field and that filter is left out."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Length(
        max=80, message=_l("Keep the search under 80 characters."))])
    site = SelectField(_l("Site"), validate_choice=True)
    status = SelectField(_l("Status"), validate_choice=True)
    band = SelectField(_l("Need"), validate_choice=True)
    gender = SelectField(_l("Gender"), validate_choice=True)

    def fill(self, sites: list[tuple[int, str]], home: list[str], statuses: dict[str, str],
             bands: list[str], genders: list[tuple[str, str]]) -> None:
        """Choices in the reader's language: every site (and "My sites" for a site-bound
        user), the board's statuses, need bands and genders; "" is "any"."""
        mine = [SelectChoice("mine", _("My sites (%(sites)s)", sites=", ".join(home)))] \
            if home else []
        self.site.choices = mine + [SelectChoice("all", _("All sites"))] + [
            SelectChoice(str(i), name) for i, name in sites]
        self.status.choices = [SelectChoice("", _("Any status"))] + [
            SelectChoice(code, text) for code, text in statuses.items()]
        self.band.choices = [SelectChoice("", _("Any need"))] + [
            SelectChoice(b, b.replace("-", "–")) for b in bands]
        self.gender.choices = [SelectChoice("", _("Any gender"))] + [
            SelectChoice(code, text) for code, text in genders]


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
