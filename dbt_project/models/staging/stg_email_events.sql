with

source as (
    select * from {{ source('raw', 'email_events') }}
),

renamed as (
    select
        merchant_id,
        event_id,
        contact_id,
        campaign_id,
        lower(event_type) as event_type,
        occurred_at
    from source
)

select * from renamed
