-- Linear: every touch of the journey gets an equal share.
with

conversion_touchpoints as (
    select * from {{ ref('int_conversion_touchpoints') }}
),

credited as (
    select
        *,
        cast(1 as {{ type_double() }}) / touch_count as credit
    from conversion_touchpoints
),

final as (
    {{ attribution_credit_rows('linear', 'credited') }}
)

select * from final
