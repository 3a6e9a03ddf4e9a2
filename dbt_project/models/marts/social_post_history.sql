-- Posting history of the merchants' social accounts, one row per post with the engagement
-- it earned: the input of the best-posting-time heatmap and of Leo's predicted performance.
-- posted_date is the post's UTC day.
with

posts as (
    select * from {{ ref('stg_social_posts') }}
),

final as (
    select
        -- keys
        merchant_id,
        post_id,
        account_id,
        platform,
        campaign_id,

        -- when
        posted_at,
        {{ utc_date('posted_at') }} as posted_date,

        -- engagement
        cast(impressions as bigint) as impressions,
        cast(likes as bigint) as likes,
        cast(shares as bigint) as shares,
        cast(clicks as bigint) as clicks
    from posts
)

select * from final
