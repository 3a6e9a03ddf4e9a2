with

source as (
    select * from {{ source('raw', 'post_metrics') }}
),

renamed as (
    select
        -- keys
        merchant_id,
        cast(queue_item_id as bigint) as queue_item_id,
        lower(platform) as platform,
        post_id,

        -- when
        published_at,
        cast({{ adapter.quote('date') }} as date) as published_date,
        fetched_at,

        -- counters (null where the platform does not report one)
        cast(impressions as bigint) as impressions,
        cast(likes as bigint) as likes,
        cast(shares as bigint) as shares,
        cast(comments as bigint) as comments,
        cast(clicks as bigint) as clicks,

        -- a sandbox post never reached the platform: its counters are simulated
        sandbox
    from source
)

select * from renamed
