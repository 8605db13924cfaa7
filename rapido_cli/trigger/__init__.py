"""``rapido trigger``: a coherent sequence of events for one booking, from a scenario file.

Library interface (prints nothing)::

    from rapido_cli.trigger import load_scenario, plan, run_steps

    scenario = load_scenario("flight-booking")          # or a path to your own YAML file
    steps = plan(scenario, {"order_id": "FL_42"})         # every event built (and checked) first
    results = run_steps(steps, send_server=client.send, send_pwa=None)

Scenario files are described in :mod:`rapido_cli.trigger.scenario`; the shipped ones live in
``rapido_cli/trigger/scenarios/``.
"""

from rapido_cli.trigger.plan import PlannedStep, apply_overrides, plan
from rapido_cli.trigger.run import PWA_PATH, PwaPoster, StepResult, run_steps
from rapido_cli.trigger.scenario import (
    Scenario,
    ScenarioError,
    builtin_names,
    load_builtin,
    load_file,
    load_scenario,
    parse_scenario,
)

__all__ = [
    "PWA_PATH",
    "PlannedStep",
    "PwaPoster",
    "Scenario",
    "ScenarioError",
    "StepResult",
    "apply_overrides",
    "builtin_names",
    "load_builtin",
    "load_file",
    "load_scenario",
    "parse_scenario",
    "plan",
    "run_steps",
]
