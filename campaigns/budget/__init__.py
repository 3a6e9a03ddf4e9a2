"""The budget context: response curves, planning and the audited apply/undo of budget allocations.

  curves    fit curves from the marts (spend in marts.ad_spend_daily, attributed revenue) and load fitted ones
  models    the rebalance plan (Change, RebalancePlan) and its limits (PERIOD_DAYS, MAX_CHANGE)
  planning  pure: the optimal split per merchant, per campaign, and for Ava's plans (optimizers.allocation)
  apply     the store: recommendations in budget_allocations; apply and undo, audited, at merchant and campaign level
  errors    RebalanceError, the one error the context raises

Callers (the budget asset, `campaigns rebalance`, the Budget page, Ava's rebalance step) import the
submodules they need; nothing here imports a shell.
"""
