-- The journey of every conversion: the user's touchpoints within `lookback_days` before the
-- conversion and after the user's previous conversion, ordered by (touched_at, touchpoint_id).
-- A conversion without any touch in its window gets one synthetic `direct` touch
-- (touchpoint_id null, touched_at = converted_at).
{%- set lookback_seconds = var('lookback_days') | float * 86400 %}
with

touchpoints as (
    select * from {{ ref('stg_touchpoints') }}
),

conversions as (
    select * from {{ ref('stg_conversions') }}
),

-- the previous conversion of the same user bounds the window from below (lag, not a self-join)
conversion_windows as (
    select
        merchant_id,
        conversion_id,
        user_id,
        converted_at,
        revenue,
        lag(converted_at) over (
            partition by merchant_id, user_id
            order by converted_at, conversion_id
        ) as previous_converted_at
    from conversions
),

-- range join on the user: each conversion with the touches of its window
windowed as (
    select
        -- conversion
        c.merchant_id,
        c.conversion_id,
        c.user_id,
        c.converted_at,
        c.revenue,

        -- touch (null when the window is empty)
        t.touchpoint_id,
        t.channel,
        t.campaign_id,
        t.touched_at
    from conversion_windows as c
    left join touchpoints as t
        on t.merchant_id = c.merchant_id
        and t.user_id = c.user_id
        and t.touched_at <= c.converted_at
        and (c.previous_converted_at is null or t.touched_at > c.previous_converted_at)
        and {{ seconds_between('t.touched_at', 'c.converted_at') }} <= {{ lookback_seconds }}
),

-- no touch in the window: the journey is one synthetic direct touch
with_direct as (
    select
        merchant_id,
        conversion_id,
        user_id,
        converted_at,
        revenue,
        touchpoint_id,
        case when touched_at is null then 'direct' else channel end as channel,
        campaign_id,
        coalesce(touched_at, converted_at) as touched_at
    from windowed
),

final as (
    select
        conversion_id,
        merchant_id,
        user_id,
        converted_at,
        revenue,
        touchpoint_id,
        channel,
        campaign_id,
        touched_at,

        -- position in the journey
        cast(row_number() over (
            partition by merchant_id, conversion_id
            order by touched_at, touchpoint_id
        ) as bigint) as touch_index,
        cast(count(*) over (partition by merchant_id, conversion_id) as bigint) as touch_count
    from with_direct
)

select * from final
