"""Campaign workflows: the plan-execution engine (steps run once, in order, with retries, escalation and people's overrides).

`campaigns.workflows.engine` runs the steps; what a step does is a handler registered by the
caller (Ava's handlers live in `agents.ava.steps` and reach the engine through
`agents.ava.execution.run_due_steps`).
"""
