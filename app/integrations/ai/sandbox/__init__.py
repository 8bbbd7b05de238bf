"""The built-in sandbox model: an OpenAI-compatible endpoint in this process that writes plausible,
deterministic drafts from the context it is given (``drafter``), so the demo and the tests need no
key and no network. A peer of the real endpoints, not a fake client: the real OpenAI SDK talks to it
over HTTP (``server.url()``). It imports no domain.
"""

from app.integrations.ai.sandbox.drafter import Draft, draft, read_context
from app.integrations.ai.sandbox.server import MODEL, application, url

__all__ = ["MODEL", "Draft", "application", "draft", "read_context", "url"]
