"""What other domains and the telegram process may use of accounts; the rest is private.

For the inbox: the account model and who may see which account (``Viewer``, agents), the effective
sending settings, and asking the telegram process something (``gateway``, ``Ask``). For the
telegram process: ``store`` (its write path for accounts: statuses, logins, syncs), the session
vault and the proxy rules. Importing this module registers the accounts' realtime subscribers.
"""

from app.blueprints.accounts import gateway, live, proxy_hosts, store
from app.blueprints.accounts.config import effective
from app.blueprints.accounts.events import AccountEvent, AccountStatusChanged, AccountSynced
from app.blueprints.accounts.models import AccountStatus, BDAccount, bd_account_agent
from app.blueprints.accounts.service import (
    Ask,
    TelegramRefused,
    Viewer,
    agent_account_ids,
    is_agent_of,
    sees_every_account,
    visible_accounts,
)
from app.blueprints.accounts.store import AccountInfo
from app.blueprints.accounts.vault import SessionVault, app_vault, rotate_all

__all__ = [
    "AccountEvent", "AccountInfo", "AccountStatus", "AccountStatusChanged", "AccountSynced", "Ask",
    "BDAccount", "SessionVault", "TelegramRefused", "Viewer", "agent_account_ids", "app_vault",
    "bd_account_agent", "effective", "gateway", "is_agent_of", "live", "proxy_hosts", "rotate_all",
    "sees_every_account", "store", "visible_accounts",
]
