"""An in-process Telegram peer at the TL level for the real Telethon client.

    world = World(reply_delay=0.2)
    world.add_account("9996621234", password="secret")
    ann = world.add_person("Ann", "Lee", username="ann")
    client = sandbox_client(world, world.login_session("9996621234"))
    await client.connect()          # then any Telethon API: get_dialogs, send_message, events...
    world.person_writes(ann.profile.id, "9996621234", "Hi!")  # reaches NewMessage handlers

See ``world.World`` for the scripted side (QR scans, floods, lost pushes, dropped connections) and
``demo_world()`` / ``app_world()`` for populated worlds.
"""

from app.integrations.telegram.sandbox.demo import app_world, demo_world
from app.integrations.telegram.sandbox.errors import UnsupportedRequest
from app.integrations.telegram.sandbox.sender import SandboxSender, install_sandbox, sandbox_client
from app.integrations.telegram.sandbox.world import World, login_code, new_session_string

__all__ = [
    "SandboxSender", "UnsupportedRequest", "World", "app_world", "demo_world", "install_sandbox",
    "login_code", "new_session_string", "sandbox_client",
]
