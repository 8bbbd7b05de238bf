"""Shared machinery of the JSON API: token auth, request bodies, the OpenAPI document."""
