with

source as (
    select * from {{ source('raw', 'touchpoints') }}
),

renamed as (
    select
        -- keys
        merchant_id,
        touchpoint_id,
        user_id,
        nullif(trim(campaign_id), '') as campaign_id,

        -- when
        touched_at,

        -- where from: an empty channel is a direct visit
        coalesce(nullif(lower(trim(channel)), ''), 'direct') as channel,
        nullif(trim(source), '') as source,
        nullif(trim(medium), '') as medium

    from source
)

select * from renamed
