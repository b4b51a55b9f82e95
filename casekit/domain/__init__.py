"""The case domain: plain attrs classes and pure rules. No SQLAlchemy, no Flask."""
