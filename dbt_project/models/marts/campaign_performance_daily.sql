-- Daily funnel and return per merchant × campaign × channel: delivery and spend from ad
-- spend, conversions and revenue attributed by the `performance_model` var (default
-- `linear`) on the conversion's UTC date. Ratios are null where their denominator is 0.
-- Conversions through touches without a campaign keep campaign_id null.
{%- set performance_model = var('performance_model', 'linear') %}
with

spend as (
    select * from {{ ref('stg_ad_spend') }}
),

attribution as (
    select * from {{ ref('fct_attribution') }}
),

daily_spend as (
    select
        merchant_id,
        campaign_id,
        channel,
        spend_date as activity_date,
        sum(spend) as spend,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(clicks) as bigint) as clicks
    from spend
    group by merchant_id, campaign_id, channel, spend_date
),

daily_conversions as (
    select
        merchant_id,
        campaign_id,
        channel,
        {{ utc_date('converted_at') }} as activity_date,
        sum(credit) as conversions,
        sum(attributed_revenue) as revenue
    from attribution
    where model = '{{ performance_model }}'
    group by merchant_id, campaign_id, channel, {{ utc_date('converted_at') }}
),

joined as (
    select
        -- keys
        coalesce(s.merchant_id, c.merchant_id) as merchant_id,
        coalesce(s.campaign_id, c.campaign_id) as campaign_id,
        coalesce(s.channel, c.channel) as channel,
        coalesce(s.activity_date, c.activity_date) as activity_date,

        -- measures
        coalesce(s.impressions, 0) as impressions,
        coalesce(s.clicks, 0) as clicks,
        cast(coalesce(c.conversions, 0) as {{ type_double() }}) as conversions,
        cast(coalesce(s.spend, 0) as {{ type_double() }}) as spend,
        cast(coalesce(c.revenue, 0) as {{ type_double() }}) as revenue
    from daily_spend as s
    full outer join daily_conversions as c
        on s.merchant_id = c.merchant_id
        and s.campaign_id = c.campaign_id
        and s.channel = c.channel
        and s.activity_date = c.activity_date
),

final as (
    select
        merchant_id,
        campaign_id,
        channel,
        activity_date,
        '{{ performance_model }}' as attribution_model,

        -- measures
        impressions,
        clicks,
        conversions,
        spend,
        revenue,

        -- ratios (null when the denominator is 0)
        {{ safe_divide('cast(clicks as ' ~ type_double() ~ ')', 'impressions') }} as ctr,
        {{ safe_divide('conversions', 'clicks') }} as cvr,
        {{ safe_divide('spend', 'clicks') }} as cpc,
        {{ safe_divide('spend * 1000', 'impressions') }} as cpm,
        {{ safe_divide('spend', 'conversions') }} as cpa,
        {{ safe_divide('revenue', 'spend') }} as roas,
        {{ safe_divide('revenue - spend', 'spend') }} as roi
    from joined
)

select * from final
