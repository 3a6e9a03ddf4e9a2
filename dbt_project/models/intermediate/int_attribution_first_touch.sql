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
    select
        -- keys
        'first_touch' as model,
        merchant_id,
        conversion_id,
        touchpoint_id,
        touch_index,

        -- the touch
        channel,
        campaign_id,
        touched_at,
        converted_at,

        -- credit (sums to 1 per conversion) and the revenue it carries
        cast(credit as double precision) as credit,
        cast(credit * revenue as double precision) as attributed_revenue
    from credited
)

select * from final
