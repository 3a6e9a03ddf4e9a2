-- Journeys that have not converted (yet): a user's touchpoints after their last conversion
-- (all of them for a user who never converted), limited to `lookback_days` before that
-- user's last touchpoint. One journey per merchant and user.
{%- set lookback_seconds = var('lookback_days') | float * 86400 %}
with

touchpoints as (
    select * from {{ ref('stg_touchpoints') }}
),

conversions as (
    select * from {{ ref('stg_conversions') }}
),

-- touches after the user's last conversion (macros/attribution_macros.sql)
open_touches as (
    {{ touches_after_last_conversion('touchpoints', 'conversions') }}
),

with_last_touch as (
    select
        *,
        max(touched_at) over (partition by merchant_id, user_id) as last_touched_at
    from open_touches
),

-- the lookback window ends at the journey's last touch
windowed as (
    select
        merchant_id,
        user_id,
        touchpoint_id,
        channel,
        campaign_id,
        touched_at,
        last_touched_at
    from with_last_touch
    where {{ seconds_between('touched_at', 'last_touched_at') }} <= {{ lookback_seconds }}
),

final as (
    select
        merchant_id,
        user_id,
        touchpoint_id,
        channel,
        campaign_id,
        touched_at,
        last_touched_at,

        -- position in the journey
        cast(row_number() over (
            partition by merchant_id, user_id
            order by touched_at, touchpoint_id
        ) as bigint) as touch_index,
        cast(count(*) over (partition by merchant_id, user_id) as bigint) as touch_count
    from windowed
)

select * from final
