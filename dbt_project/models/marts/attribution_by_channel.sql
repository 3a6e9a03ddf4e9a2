-- Attributed conversions and revenue per rule-based model and channel (the data-driven
-- models are in marts.attribution_by_channel_data_driven).
with

attribution as (
    select * from {{ ref('fct_attribution') }}
),

final as (
    select
        model,
        merchant_id,
        channel,

        -- measures
        sum(credit) as conversions,
        sum(attributed_revenue) as revenue
    from attribution
    group by model, merchant_id, channel
)

select * from final
