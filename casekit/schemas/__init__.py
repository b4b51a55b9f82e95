"""Marshmallow schemas: casekit's wire format, shared by the core and the API."""
