-- First touch: the journey's first touch gets the whole conversion.
with

conversion_touchpoints as (
    select * from {{ ref('int_conversion_touchpoints') }}
),

credited as (
    select
        *,
        case when touch_index = 1 then 1.0 else 0.0 end as credit
    from conversion_touchpoints
),

final as (
    {{ attribution_credit_rows('first_touch', 'credited') }}
)

select * from final
