from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from app.blueprints.auth.passwords import MIN_LENGTH
from app.canonical import timezone_label, timezone_names
from app.i18n import LANGUAGES


class SignUpForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Work email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=MIN_LENGTH, max=1024)])
    organization = StringField(_l("Team name"), validators=[Length(max=120)])
    # The browser's country (js/country-guess.js), for the organization's phone numbers; checked
    # by team, which drops anything that is not a country.
    country = HiddenField()


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Keep me signed in for 30 days"))


class NewOrganizationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])


class ProfileForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    # Each language named in itself, as the switcher names it; blank: as the browser asks.
    language = SelectField(_l("Language"), validate_choice=False, choices=[
        SelectChoice("", _l("As my browser asks")),
        *(SelectChoice(code, name) for code, name in LANGUAGES.items())])
    # Checked by the service; blank: each browser's own clock.
    timezone = SelectField(_l("Time zone"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zones = sorted(((zone, timezone_label(zone)) for zone in timezone_names()), key=lambda z: z[1])
        self.timezone.choices = [SelectChoice("", _l("As my computer's clock")),
                                 *(SelectChoice(zone, label) for zone, label in zones)]


class MfaCodeForm(FlaskForm):
    # Six digits from the authenticator app, or a recovery code ("abcde-fghjk-mnpqr").
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
