-- Daily ad spend per merchant × campaign × channel: the series the response curves are
-- fitted on (Python reads this mart, never the staging layer).
with

spend as (
    select * from {{ ref('stg_ad_spend') }}
),

final as (
    select
        -- keys
        merchant_id,
        campaign_id,
        channel,
        spend_date,

        -- measures
        sum(spend) as spend
    from spend
    group by merchant_id, campaign_id, channel, spend_date
)

select * from final
