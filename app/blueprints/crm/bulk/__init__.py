"""Bulk actions on many records at once: the operations, their background job, their routes."""
