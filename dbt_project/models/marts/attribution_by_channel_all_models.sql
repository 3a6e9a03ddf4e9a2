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
        cast(model as {{ type_string() }}) as model,
        cast(model_family as {{ type_string() }}) as model_family,
        cast(merchant_id as {{ type_string() }}) as merchant_id,
        cast(channel as {{ type_string() }}) as channel,

        -- measures
        cast(conversions as {{ type_double() }}) as conversions,
        cast(revenue as {{ type_double() }}) as revenue
    from unioned
)

select * from final
