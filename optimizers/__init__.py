"""Pure-maths optimisation (no I/O, no database).

Budget allocation:
  curves          response-curve families, adstock, the CurveSpec input model
  fitting         fit a family (with adstock) to daily spend/outcome; bootstrap
  problem         AllocationProblem input model, parse_problem
  allocation      optimize(problem) -> AllocationResult (routing and certificates)
  recommendations plain-language moves from an allocation
  errors          AllocationError
Internals: curve_bank (vectorised curves), separable (KKT multiplier search and
dual bound), branch_and_bound (S-shaped Hill), refine (local KKT polish),
cvx_reference (cvxpy / CVaR), pwl_milp (piecewise-linear MILP via HiGHS), result.

Submodules are imported on demand so `import optimizers` stays cheap.
"""
