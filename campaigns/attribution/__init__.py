"""Data-driven attribution maths (pure functions over aggregated paths, no I/O).

* :func:`markov_attribution` / :func:`markov_path_credits` -- exact
  removal-effect Markov attribution (order k), see :mod:`.markov`.
* :func:`shapley_attribution` -- Shapley attribution over channel sets,
  exact up to ``exact_limit`` channels per set, sampled with a Hoeffding bound
  above, see :mod:`.shapley`.
* :class:`PathCount` / :func:`aggregate_paths` -- input rows and validation,
  see :mod:`.paths`.
"""

from campaigns.attribution.markov import MarkovAttribution, markov_attribution, markov_path_credits
from campaigns.attribution.paths import DIRECT, AggregatedPaths, PathCount, aggregate_paths
from campaigns.attribution.shapley import SampledSet, ShapleyAttribution, shapley_attribution

__all__ = [
    "DIRECT",
    "AggregatedPaths",
    "MarkovAttribution",
    "PathCount",
    "SampledSet",
    "ShapleyAttribution",
    "aggregate_paths",
    "markov_attribution",
    "markov_path_credits",
    "shapley_attribution",
]
