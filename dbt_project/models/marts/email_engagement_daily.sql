-- Email engagement per merchant × campaign × event type (opened, clicked, purchased, ...) ×
-- UTC day of the event: how many events and how many distinct contacts. Leo's click-to-open
-- estimate reads it. Events without a campaign keep campaign_id null.
with

events as (
    select * from {{ ref('stg_email_events') }}
),

final as (
    select
        -- keys
        merchant_id,
        campaign_id,
        event_type,
        {{ utc_date('occurred_at') }} as event_date,

        -- measures
        cast(count(*) as bigint) as events,
        cast(count(distinct contact_id) as bigint) as contacts
    from events
    group by merchant_id, campaign_id, event_type, {{ utc_date('occurred_at') }}
)

select * from final
