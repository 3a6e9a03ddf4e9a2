-- Linear: every touch of the journey gets an equal share.
with

conversion_touchpoints as (
    select * from {{ ref('int_conversion_touchpoints') }}
),

credited as (
    select
        *,
        cast(1 as double precision) / touch_count as credit
    from conversion_touchpoints
),

final as (
    select
        -- keys
        'linear' as model,
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
