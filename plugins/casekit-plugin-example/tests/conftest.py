# casekit's fixtures for plugin authors: casekit_kit, casekit_world, casekit_clock.
pytest_plugins = ["casekit.testing"]
