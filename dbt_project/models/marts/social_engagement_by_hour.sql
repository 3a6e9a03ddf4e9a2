-- Engagement of each merchant's published posts by account × UTC weekday × UTC hour:
-- posts, impressions, engagements and the engagement rate per impression (null without
-- impressions). Fed by the posts the product published (counters read back from the
-- platforms) and by imported or demo history, which land in the same raw table.
with

posts as (
    select * from {{ ref('int_social_posts_timed') }}
),

final as (
    select
        -- keys
        merchant_id,
        account_id,
        platform,
        posted_weekday,
        posted_hour,

        -- measures
        cast(count(*) as bigint) as posts,
        cast(sum(coalesce(impressions, 0)) as bigint) as impressions,
        cast(sum(engagements) as bigint) as engagements,
        {{ safe_divide('cast(sum(engagements) as ' ~ type_double() ~ ')', 'sum(coalesce(impressions, 0))') }} as engagement_rate
    from posts
    group by merchant_id, account_id, platform, posted_weekday, posted_hour
)

select * from final
