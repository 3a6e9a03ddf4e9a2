"""Ava, the campaign orchestrator: goals into plans, plans into workflows that run step by step."""

from agents.ava.models import Goal, Plan, PlanHistory, PlanRequest
from agents.ava.planner import plan_campaign
from agents.ava.execution import create_campaign_from_plan, create_workflow, run_due_steps

__all__ = ["Goal", "Plan", "PlanHistory", "PlanRequest", "create_campaign_from_plan", "create_workflow", "plan_campaign", "run_due_steps"]
