-- Attributed conversions and revenue per model × merchant × campaign × channel × UTC day of
-- the conversion, every model: the sums of the per-touch credits of fct_attribution
-- (rule-based) and of the attribution assets' fct_attribution_data_driven (Markov per path,
-- Shapley per channel set). A view, so it shows the latest Python output although dbt runs
-- before the attribution assets. Touches without a campaign keep campaign_id null.
{{ config(materialized='view') }}
with

rule_based as (
    select * from {{ ref('fct_attribution') }}
),

data_driven as (
    select * from {{ source('attribution', 'fct_attribution_data_driven') }}
),

unioned as (
    select model, 'rule_based' as model_family, merchant_id, campaign_id, channel, converted_at, credit, attributed_revenue
    from rule_based
    union all
    select model, 'data_driven' as model_family, merchant_id, campaign_id, channel, converted_at, credit, attributed_revenue
    from data_driven
),

daily as (
    select
        model,
        model_family,
        merchant_id,
        campaign_id,
        channel,
        {{ utc_date('converted_at') }} as conversion_date,
        sum(credit) as conversions,
        sum(attributed_revenue) as revenue
    from unioned
    group by model, model_family, merchant_id, campaign_id, channel, {{ utc_date('converted_at') }}
),

final as (
    select
        -- keys
        cast(model as {{ type_string() }}) as model,
        cast(model_family as {{ type_string() }}) as model_family,
        cast(merchant_id as {{ type_string() }}) as merchant_id,
        cast(campaign_id as {{ type_string() }}) as campaign_id,
        cast(channel as {{ type_string() }}) as channel,
        conversion_date,

        -- measures
        cast(conversions as {{ type_double() }}) as conversions,
        cast(revenue as {{ type_double() }}) as revenue
    from daily
)

select * from final
