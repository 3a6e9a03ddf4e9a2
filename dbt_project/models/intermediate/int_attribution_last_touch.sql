-- Last touch: the touch closest to the conversion gets the whole conversion.
with

conversion_touchpoints as (
    select * from {{ ref('int_conversion_touchpoints') }}
),

credited as (
    select
        *,
        case when touch_index = touch_count then 1.0 else 0.0 end as credit
    from conversion_touchpoints
),

final as (
    {{ attribution_credit_rows('last_touch', 'credited') }}
)

select * from final
