with

source as (
    select * from {{ source('raw', 'social_posts') }}
),

renamed as (
    select
        -- keys
        merchant_id,
        post_id,
        account_id,
        lower(platform) as platform,
        campaign_id,

        -- when
        posted_at,

        -- engagement
        impressions,
        likes,
        shares,
        clicks
    from source
)

select * from renamed
