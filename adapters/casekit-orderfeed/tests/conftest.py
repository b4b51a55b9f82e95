pytest_plugins = ["casekit.testing"]
