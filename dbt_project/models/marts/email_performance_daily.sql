-- Email delivery per merchant × email campaign × UTC day, from the send ledger: how many
-- finished sends were delivered, failed, suppressed (unsubscribed, bounced, complained) or
-- held for review, and the rates. Rates are null where their denominator is 0.
with

send_stats as (
    select * from {{ ref('stg_email_send_stats') }}
),

daily as (
    select
        merchant_id,
        campaign_id,
        email_campaign_id,
        send_date,
        cast(sum(sent) as bigint) as sent,
        cast(sum(failed) as bigint) as failed,
        cast(sum(suppressed) as bigint) as suppressed,
        cast(sum(needs_review) as bigint) as needs_review
    from send_stats
    group by merchant_id, campaign_id, email_campaign_id, send_date
),

final as (
    select
        -- keys
        merchant_id,
        campaign_id,
        email_campaign_id,
        send_date,

        -- outcomes
        sent,
        failed,
        suppressed,
        needs_review,
        cast(sent + failed + suppressed + needs_review as bigint) as finished,

        -- rates (as doubles: PostgreSQL divides integers as integers): delivery among the
        -- attempts that reached a provider, suppression among all finished sends
        {{ safe_divide('cast(sent as ' ~ type_double() ~ ')', 'sent + failed') }} as delivery_rate,
        {{ safe_divide('cast(suppressed as ' ~ type_double() ~ ')', 'sent + failed + suppressed + needs_review') }} as suppression_rate
    from daily
)

select * from final
