from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from app.blueprints.auth.passwords import MIN_LENGTH
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


class MfaCodeForm(FlaskForm):
    # Six digits from the authenticator app, or a recovery code ("abcde-fghjk-mnpqr").
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
