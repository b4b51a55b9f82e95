"""The parts of a host's Alembic ``env.py`` that leave casekit's tables alone."""


def include_object(obj, name, type_, reflected, compare_to):
    """Autogenerate ignores casekit's tables and its version table."""
    return not (type_ == "table" and name.startswith("casekit_"))


def include_name(name, type_, parent_names):
    """The same, decided before reflection (Alembic 1.5 and later)."""
    return not (type_ == "table" and name.startswith("casekit_"))


# In run_migrations_online() (and run_migrations_offline()):
#
#     context.configure(
#         connection=connection,
#         target_metadata=target_metadata,  # the host's metadata only
#         include_object=include_object,
#     )
