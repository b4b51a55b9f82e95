"""casekit's benchmarks: ``python -m benchmarks SCENARIO [--cases N]
[--database-url URL] [--json FILE]``.

Each scenario is one module of this package that registers a ``run(ctx)``
function with :func:`benchmarks.common.scenario`; :func:`run_scenario` is the
Python entry the command line uses. Adding a scenario means adding a module.
"""

from benchmarks.common import SCENARIOS, Context, Result, load_scenarios, run_scenario, scenario

__all__ = ["SCENARIOS", "Context", "Result", "load_scenarios", "run_scenario", "scenario"]
