-- Return per model × merchant × campaign × channel over the whole history, every model: the
-- rule-based rows of roi_by_model and the Markov and Shapley rows the attribution assets
-- compute with the same rules (every model lists every campaign × channel with spend;
-- roas and roi null without spend). A view, so it shows the latest Python output although
-- dbt runs before the attribution assets.
{{ config(materialized='view') }}
with

rule_based as (
    select * from {{ ref('roi_by_model') }}
),

data_driven as (
    select * from {{ source('attribution', 'roi_by_model_data_driven') }}
),

unioned as (
    select model, 'rule_based' as model_family, merchant_id, campaign_id, channel, spend, conversions, revenue, roas, roi
    from rule_based
    union all
    select model, 'data_driven' as model_family, merchant_id, campaign_id, channel, spend, conversions, revenue, roas, roi
    from data_driven
),

final as (
    select
        -- keys
        cast(model as {{ type_string() }}) as model,
        cast(model_family as {{ type_string() }}) as model_family,
        cast(merchant_id as {{ type_string() }}) as merchant_id,
        cast(campaign_id as {{ type_string() }}) as campaign_id,
        cast(channel as {{ type_string() }}) as channel,

        -- measures
        cast(spend as {{ type_double() }}) as spend,
        cast(conversions as {{ type_double() }}) as conversions,
        cast(revenue as {{ type_double() }}) as revenue,

        -- return (null without spend)
        cast(roas as {{ type_double() }}) as roas,
        cast(roi as {{ type_double() }}) as roi
    from unioned
)

select * from final
