"""Data-driven attribution (Markov, Shapley) and the conservation checks of every model."""

import dagster as dg

from assets.attribution.assets import data_driven_attribution, markov_attribution, shapley_attribution
from assets.attribution.checks import checks


def attribution_assets() -> list[dg.AssetsDefinition]:
    return [markov_attribution, shapley_attribution, data_driven_attribution]


def attribution_checks() -> list[dg.AssetChecksDefinition]:
    return checks()
