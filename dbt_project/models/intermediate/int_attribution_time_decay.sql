-- Time decay: a touch's weight halves every `half_life_days` before the conversion,
-- weight = 2^(-(converted_at - touched_at) / half_life), measured in seconds so fractional
-- days count. Credits are the weights normalised per conversion; the exponent is taken
-- relative to the journey's last touch (the same ratios) so weights never underflow to 0.
{%- set half_life_seconds = var('half_life_days') | float * 86400 %}
with

conversion_touchpoints as (
    select * from {{ ref('int_conversion_touchpoints') }}
),

last_touches as (
    select
        *,
        max(touched_at) over (partition by merchant_id, conversion_id) as last_touched_at
    from conversion_touchpoints
),

weighted as (
    select
        *,
        power(
            cast(2 as {{ type_double() }}),
            -cast({{ seconds_between('touched_at', 'last_touched_at') }} as {{ type_double() }}) / {{ half_life_seconds }}
        ) as weight
    from last_touches
),

credited as (
    select
        *,
        weight / sum(weight) over (partition by merchant_id, conversion_id) as credit
    from weighted
),

final as (
    {{ attribution_credit_rows('time_decay', 'credited') }}
)

select * from final
