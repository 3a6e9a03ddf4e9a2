-- Unique channel paths per merchant with their converting and non-converting journeys:
-- the input of the Markov and Shapley assets. `path` joins a journey's channels by time
-- with ' > ' (e.g. 'email > x > google_ads'); simultaneous touches by channel name.
-- Spelled per warehouse (macros/attribution_paths.sql): DuckDB sorts integer keys where
-- PostgreSQL and Spark use an ordered string aggregate.
{{ attribution_paths_aggregated(
    conversion_touchpoints=ref('int_conversion_touchpoints'),
    nonconverting_touchpoints=ref('int_nonconverting_touchpoints'),
    touchpoints=ref('stg_touchpoints'),
    conversions=ref('stg_conversions'),
) }}
