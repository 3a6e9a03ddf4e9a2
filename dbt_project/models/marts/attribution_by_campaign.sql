-- Attributed conversions and revenue per rule-based model, campaign and channel. Touches
-- without a campaign (direct visits, untagged links) keep campaign_id null, so the rows of
-- a model still add up to all conversions.
with

attribution as (
    select * from {{ ref('fct_attribution') }}
),

final as (
    select
        model,
        merchant_id,
        campaign_id,
        channel,

        -- measures
        sum(credit) as conversions,
        sum(attributed_revenue) as revenue
    from attribution
    group by model, merchant_id, campaign_id, channel
)

select * from final
