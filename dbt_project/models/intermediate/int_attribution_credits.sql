-- Rule-based attribution, every rule in one pass: one row per conversion × touch of its journey
-- with each rule's credit in its own column, `credit_<model>` (a conversion's credits sum to 1 in
-- every column). The rules share one set of journey windows, and each touch is stored once rather
-- than once per rule: marts.fct_attribution is a view that unpivots this table.
{%- set half_life_seconds = var('half_life_days') | float * 86400 %}
with

conversion_touchpoints as (
    select * from {{ ref('int_conversion_touchpoints') }}
),

-- what the rules need to know about the whole journey
journeys as (
    select
        *,
        -- last non-direct: the last touch whose channel is not direct (null: direct touches only)
        max(case when channel <> 'direct' then touch_index end) over (
            partition by merchant_id, conversion_id
        ) as last_non_direct_index,
        max(touched_at) over (partition by merchant_id, conversion_id) as last_touched_at
    from conversion_touchpoints
),

-- time decay: a touch's weight halves every `half_life_days` before the journey's last touch,
-- measured in seconds so fractional days count (relative to the last touch rather than the
-- conversion: the same ratios, and the weights never underflow to 0)
decay_weighted as (
    select
        *,
        power(
            cast(2 as {{ type_double() }}),
            -cast({{ seconds_between('touched_at', 'last_touched_at') }} as {{ type_double() }}) / {{ half_life_seconds }}
        ) as decay_weight
    from journeys
),

credited as (
    select
        *,
        -- first touch: the journey's first touch gets the whole conversion
        case when touch_index = 1 then 1.0 else 0.0 end as first_touch,
        -- last touch: the touch closest to the conversion gets the whole conversion
        case when touch_index = touch_count then 1.0 else 0.0 end as last_touch,
        -- last non-direct touch, falling back to the last touch for a journey of direct touches
        case when touch_index = coalesce(last_non_direct_index, touch_count) then 1.0 else 0.0 end as last_non_direct,
        -- linear: an equal share each
        cast(1 as {{ type_double() }}) / touch_count as linear,
        -- time decay: the weights normalised per conversion
        decay_weight / sum(decay_weight) over (partition by merchant_id, conversion_id) as time_decay,
        -- position based (U-shaped): 40 % first, 40 % last, 20 % shared by the touches in
        -- between; one touch 100 %, two touches 50/50
        case
            when touch_count = 1 then 1.0
            when touch_count = 2 then 0.5
            when touch_index = 1 or touch_index = touch_count then 0.4
            else cast(0.2 as {{ type_double() }}) / (touch_count - 2)
        end as position_based
    from decay_weighted
),

final as (
    select
        -- keys
        merchant_id,
        conversion_id,
        touchpoint_id,
        touch_index,

        -- the touch and its conversion
        channel,
        campaign_id,
        touched_at,
        converted_at,
        revenue,

        -- one credit per rule (attribution_rule_models)
        {%- for name in attribution_rule_models() %}
        cast({{ name }} as {{ type_double() }}) as credit_{{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    from credited
)

select * from final
