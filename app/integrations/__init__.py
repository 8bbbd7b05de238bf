"""Integrations: one interface each, a real implementation and a sandbox/console one."""
