-- Last non-direct touch: the last touch whose channel is not `direct` gets the whole
-- conversion; a journey of direct touches only falls back to its last touch.
with

conversion_touchpoints as (
    select * from {{ ref('int_conversion_touchpoints') }}
),

last_non_direct as (
    select
        *,
        max(case when channel <> 'direct' then touch_index end) over (
            partition by merchant_id, conversion_id
        ) as last_non_direct_index
    from conversion_touchpoints
),

credited as (
    select
        *,
        case when touch_index = coalesce(last_non_direct_index, touch_count) then 1.0 else 0.0 end as credit
    from last_non_direct
),

final as (
    {{ attribution_credit_rows('last_non_direct', 'credited') }}
)

select * from final
