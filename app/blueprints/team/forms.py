from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.blueprints.team.service import countries, timezones
from app.canonical import currency_choices, timezone_label


def _code_or_blank(value: object) -> str:
    return "" if value is None else str(value)


class OrganizationForm(FlaskForm):
    name = StringField(_l("Organization name"), validators=[DataRequired(), Length(max=120)])
    timezone = SelectField(_l("Timezone"), validators=[DataRequired()])
    # Checked by the service (an unknown code is a field error there); a post without it keeps it.
    default_country = SelectField(_l("Default country for phone numbers"), coerce=_code_or_blank,
                                  validate_choice=False)
    default_currency = SelectField(_l("Default currency for deals"), coerce=_code_or_blank,
                                   validate_choice=False)
    require_mfa = BooleanField(_l("Require two-factor authentication"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Values are IANA names; labels the viewer's (English: the names themselves).
        zones = sorted(((tz, timezone_label(tz)) for tz in timezones()), key=lambda zone: zone[1])
        self.timezone.choices = [SelectChoice(tz, label) for tz, label in zones]
        self.default_country.choices = [SelectChoice("", _l("None: every number needs its country code"))] + [
            SelectChoice(code, name) for code, name in countries()]
        self.default_currency.choices = [SelectChoice("", _l("The default country's currency, else USD"))] + [
            SelectChoice(code, label) for code, label in currency_choices()]
