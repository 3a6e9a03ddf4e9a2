-- Daily totals per merchant for the Overview page: spend from ad spend, conversions and
-- revenue from the conversions themselves (attribution-free, so they always add up).
with

spend as (
    select * from {{ ref('stg_ad_spend') }}
),

conversions as (
    select * from {{ ref('stg_conversions') }}
),

daily_spend as (
    select
        merchant_id,
        spend_date as activity_date,
        sum(spend) as spend,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(clicks) as bigint) as clicks
    from spend
    group by 1, 2
),

daily_conversions as (
    select
        merchant_id,
        {{ utc_date('converted_at') }} as activity_date,
        cast(count(*) as bigint) as conversions,
        sum(revenue) as revenue
    from conversions
    group by 1, 2
),

joined as (
    select
        coalesce(s.merchant_id, c.merchant_id) as merchant_id,
        coalesce(s.activity_date, c.activity_date) as activity_date,

        -- measures
        coalesce(s.spend, 0) as spend,
        coalesce(s.impressions, 0) as impressions,
        coalesce(s.clicks, 0) as clicks,
        coalesce(c.conversions, 0) as conversions,
        coalesce(c.revenue, 0) as revenue
    from daily_spend as s
    full outer join daily_conversions as c
        on s.merchant_id = c.merchant_id and s.activity_date = c.activity_date
),

final as (
    select
        *,
        {{ safe_divide('revenue', 'spend') }} as roas
    from joined
)

select * from final
