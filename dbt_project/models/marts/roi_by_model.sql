-- Return on ad spend per rule-based model × campaign × channel over the whole history:
-- spend, attributed conversions and revenue, ROAS = revenue / spend and
-- ROI = (revenue - spend) / spend (null without spend). Every model lists every
-- campaign × channel with spend, with 0 conversions where it credited none; conversions
-- through touches without a campaign keep campaign_id null.
with

spend as (
    select * from {{ ref('stg_ad_spend') }}
),

attribution as (
    select * from {{ ref('attribution_by_campaign') }}
),

model_names as (
    {{ attribution_rule_models_relation() }}
),

campaign_spend as (
    select
        merchant_id,
        campaign_id,
        channel,
        sum(spend) as spend
    from spend
    group by merchant_id, campaign_id, channel
),

-- spend is the same for every model
model_spend as (
    select
        model_names.model,
        campaign_spend.merchant_id,
        campaign_spend.campaign_id,
        campaign_spend.channel,
        campaign_spend.spend
    from model_names
    cross join campaign_spend
),

joined as (
    select
        -- keys
        coalesce(s.model, a.model) as model,
        coalesce(s.merchant_id, a.merchant_id) as merchant_id,
        coalesce(s.campaign_id, a.campaign_id) as campaign_id,
        coalesce(s.channel, a.channel) as channel,

        -- measures
        cast(coalesce(s.spend, 0) as {{ type_double() }}) as spend,
        cast(coalesce(a.conversions, 0) as {{ type_double() }}) as conversions,
        cast(coalesce(a.revenue, 0) as {{ type_double() }}) as revenue
    from model_spend as s
    full outer join attribution as a
        on s.model = a.model
        and s.merchant_id = a.merchant_id
        and s.campaign_id = a.campaign_id
        and s.channel = a.channel
),

final as (
    select
        model,
        merchant_id,
        campaign_id,
        channel,
        spend,
        conversions,
        revenue,

        -- return (null without spend)
        {{ safe_divide('revenue', 'spend') }} as roas,
        {{ safe_divide('revenue - spend', 'spend') }} as roi
    from joined
)

select * from final
