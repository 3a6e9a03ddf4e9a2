-- Attributed conversions and revenue per model × merchant × channel, every model: the
-- rule-based ones from attribution_by_channel and Markov and Shapley from the attribution
-- assets' output (Markov: the global split by removal effect). A view, so it shows the
-- latest Python output although dbt runs before the attribution assets.
{{ config(materialized='view') }}
with

rule_based as (
    select * from {{ ref('attribution_by_channel') }}
),

data_driven as (
    select * from {{ source('attribution', 'attribution_by_channel_data_driven') }}
),

unioned as (
    select model, 'rule_based' as model_family, merchant_id, channel, conversions, revenue
    from rule_based
    union all
    select model, 'data_driven' as model_family, merchant_id, channel, conversions, revenue
    from data_driven
),

final as (
    select
        -- keys
        cast(model as varchar) as model,
        cast(model_family as varchar) as model_family,
        cast(merchant_id as varchar) as merchant_id,
        cast(channel as varchar) as channel,

        -- measures
        cast(conversions as double precision) as conversions,
        cast(revenue as double precision) as revenue
    from unioned
)

select * from final
