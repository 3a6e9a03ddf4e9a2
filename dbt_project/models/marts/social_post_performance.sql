-- Engagement of each published post: the platform's latest counters, the engagements
-- (likes + shares + comments + clicks, counting a counter the platform does not report as
-- 0) and the engagement rate per impression (null without impressions). Sandbox posts are
-- kept and flagged: their counters are simulated.
with

post_metrics as (
    select * from {{ ref('stg_post_metrics') }}
),

final as (
    select
        -- keys
        merchant_id,
        queue_item_id,
        platform,
        post_id,

        -- when
        published_at,
        published_date,
        fetched_at,

        -- counters
        impressions,
        likes,
        shares,
        comments,
        clicks,
        cast(coalesce(likes, 0) + coalesce(shares, 0) + coalesce(comments, 0) + coalesce(clicks, 0) as bigint) as engagements,
        {{ safe_divide('cast(coalesce(likes, 0) + coalesce(shares, 0) + coalesce(comments, 0) + coalesce(clicks, 0) as ' ~ type_double() ~ ')', 'impressions') }} as engagement_rate,

        sandbox
    from post_metrics
)

select * from final
