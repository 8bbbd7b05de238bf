from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.blueprints.team.permissions import Role
from app.i18n import LANGUAGES


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    # Checked by the service: nobody grants above their own role.
    role = SelectField(_l("Role"), validate_choice=False, default=Role.AGENT.value,
                       choices=[SelectChoice(r.value, r.label) for r in Role])
    language = SelectField(_l("Language of the invitation"), validate_choice=False,
                           choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()])


class HandOverForm(FlaskForm):
    """Whom a leaving member's records, deals, chats and accounts go to (the choices: the others)."""

    reassign_to = SelectField(_l("Hand their records, deals, chats and accounts to"), coerce=int,
                              validate_choice=False, validators=[DataRequired()])
