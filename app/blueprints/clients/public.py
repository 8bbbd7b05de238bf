"""What other domains may use of clients: handing a member's clients over at once."""

from app.blueprints.clients.service import Assigned, assign_clients

__all__ = ["Assigned", "assign_clients"]
