-- Email opens and clicks per merchant × UTC weekday × UTC hour of the event, with the
-- distinct contacts behind them: when the merchant's own audience reads its mail.
with

events as (
    select * from {{ ref('stg_email_events') }}
    where event_type in ('opened', 'clicked')
),

timed as (
    select
        merchant_id,
        contact_id,
        event_type,
        {{ utc_weekday('occurred_at') }} as event_weekday,
        {{ utc_hour('occurred_at') }} as event_hour
    from events
),

final as (
    select
        -- keys
        merchant_id,
        event_weekday,
        event_hour,

        -- measures
        cast(sum(case when event_type = 'opened' then 1 else 0 end) as bigint) as opens,
        cast(sum(case when event_type = 'clicked' then 1 else 0 end) as bigint) as clicks,
        cast(count(distinct contact_id) as bigint) as contacts
    from timed
    group by merchant_id, event_weekday, event_hour
)

select * from final
