"""Fields shared by several features' forms."""
from __future__ import annotations

from typing import Any

from wtforms import DateField

from shelter.clock import FIRST_NIGHT, LAST_NIGHT, night_in_range
from shelter.i18n import _, day_short


class NightField(DateField):
    """A night typed as YYYY-MM-DD; a date outside the nights the system holds is an error
    beside the field (0001-01-01 would otherwise overflow a date calculation: a 500)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not night_in_range(self.data):
            self.data = None
            raise ValueError(_("Choose a night between %(first)s and %(last)s.",
                               first=day_short(FIRST_NIGHT), last=day_short(LAST_NIGHT)))
