-- Position based (U-shaped): 40% to the first touch, 40% to the last, 20% shared by the
-- touches in between; a one-touch journey gives 100%, a two-touch journey 50/50.
with

conversion_touchpoints as (
    select * from {{ ref('int_conversion_touchpoints') }}
),

credited as (
    select
        *,
        case
            when touch_count = 1 then 1.0
            when touch_count = 2 then 0.5
            when touch_index = 1 or touch_index = touch_count then 0.4
            else cast(0.2 as {{ type_double() }}) / (touch_count - 2)
        end as credit
    from conversion_touchpoints
),

final as (
    {{ attribution_credit_rows('position_based', 'credited') }}
)

select * from final
