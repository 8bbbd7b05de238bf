from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.blueprints.team.service import countries, timezones
from app.canonical import currency_choices


def _code_or_blank(value: object) -> str:
    return "" if value is None else str(value)


class OrganizationForm(FlaskForm):
    name = StringField("Organization name", validators=[DataRequired(), Length(max=120)])
    timezone = SelectField("Timezone", validators=[DataRequired()])
    # Checked by the service (an unknown code is a field error there); a post without it keeps it.
    default_country = SelectField("Default country for phone numbers", coerce=_code_or_blank,
                                  validate_choice=False)
    default_currency = SelectField("Default currency for deals", coerce=_code_or_blank, validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice(tz, tz.replace("_", " ")) for tz in timezones()]
        self.default_country.choices = [SelectChoice("", "None: every number needs its country code")] + [
            SelectChoice(code, name) for code, name in countries()]
        self.default_currency.choices = [SelectChoice("", "The default country's currency, else USD")] + [
            SelectChoice(code, label) for code, label in currency_choices()]
