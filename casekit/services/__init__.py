"""Use cases: one method per operation, each taking the actor who performs it."""
