"""Outbound mail: reply tokens, templates, composition and the built-in SMTP plugin."""
