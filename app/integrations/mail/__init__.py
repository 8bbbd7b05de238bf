"""Mail, as an integration: one way to ask for a mail, two ways it leaves.

A domain registers its templates (``MailTemplate``: a name, a subject, bodies under
``app/templates/mail/<name>.{html,txt}``) and calls ``send_mail`` inside its unit of work. The mail
is rendered there, in the recipient's language, and recorded (``OutboundMail``) under a key naming
the event it is for: the same event asking twice gets the one mail it already has. Once the
transaction commits, a job on the ``email`` queue delivers it (``delivery``): over SMTP when
``SMTP_URL`` is set, else into the development mailbox (kept in the database, shown at
``/dev/mailbox`` and its links printed in the log), so every flow works on the embedded defaults.
"""

from app.integrations.mail.compose import (
    MailTemplate,
    external_url,
    register_template,
    send_mail,
    templates,
)
from app.integrations.mail.models import MailStatus, OutboundMail

__all__ = ["MailStatus", "MailTemplate", "OutboundMail", "external_url", "register_template",
           "send_mail", "templates"]
