-- Each published post with its UTC weekday and hour and its engagements (likes + shares +
-- clicks, a counter the platform does not report counted as 0): the grain the by-hour mart sums.
with

posts as (
    select * from {{ ref('stg_social_posts') }}
),

timed as (
    select
        -- keys
        merchant_id,
        post_id,
        account_id,
        platform,

        -- when (UTC)
        posted_at,
        {{ utc_weekday('posted_at') }} as posted_weekday,
        {{ utc_hour('posted_at') }} as posted_hour,

        -- engagement
        cast(impressions as bigint) as impressions,
        cast(coalesce(likes, 0) + coalesce(shares, 0) + coalesce(clicks, 0) as bigint) as engagements
    from posts
)

select * from timed
