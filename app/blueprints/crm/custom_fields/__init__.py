"""An organization's own fields on contacts, companies and deals, and their settings page."""
