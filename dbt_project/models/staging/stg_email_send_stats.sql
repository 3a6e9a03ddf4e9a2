with

source as (
    select * from {{ source('raw', 'email_send_stats') }}
),

renamed as (
    select
        -- keys
        merchant_id,
        nullif(trim(campaign_id), '') as campaign_id,
        cast(email_campaign_id as bigint) as email_campaign_id,
        cast({{ adapter.quote('date') }} as date) as send_date,

        -- outcomes of the finished sends of that UTC day
        cast(sent as bigint) as sent,
        cast(failed as bigint) as failed,
        cast(suppressed as bigint) as suppressed,
        cast(needs_review as bigint) as needs_review
    from source
)

select * from renamed
