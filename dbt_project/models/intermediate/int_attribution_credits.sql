-- Rule-based attribution, every rule in one pass: one row per conversion × touch of its journey
-- with each rule's credit in its own column, `credit_<model>` (a conversion's credits sum to 1 in
-- every column). The rules share one window pass over the journeys, and each touch is stored once
-- rather than once per rule: marts.fct_attribution is a view that unpivots this table.
{%- set half_life_days = var('half_life_days') | float %}
{%- set lookback_days = var('lookback_days') | float %}
{#- Time-decay weights are taken relative to the conversion, so every touch is at most lookback_days
    before it and its weight at least 2^(-lookback_days / half_life_days): kept well above the
    smallest double (2^-1022) so that no journey's weights all round to 0. -#}
{%- if half_life_days <= 0 or lookback_days / half_life_days > 1000 %}
    {{ exceptions.raise_compiler_error(
        "int_attribution_credits: vars lookback_days=" ~ lookback_days ~ " and half_life_days=" ~ half_life_days
        ~ " give time-decay weights too small for a double; set half_life_days above 0 and at least lookback_days / 1000"
    ) }}
{%- endif %}

{#- Each rule's credit of one touch, by rule name (the names of attribution_rule_models()):
    - first_touch: the journey's first touch gets the whole conversion;
    - last_touch: the touch closest to the conversion gets the whole conversion;
    - last_non_direct: the last touch whose channel is not direct, falling back to the last touch
      for a journey of direct touches only;
    - linear: an equal share each;
    - time_decay: a weight that halves every half_life_days before the conversion (in seconds, so
      fractional days count), normalised per conversion;
    - position_based (U-shaped): 40 % first, 40 % last, 20 % shared by the touches in between;
      one touch 100 %, two touches 50/50. -#}
{%- set credit_rules = {
    'first_touch': "case when touch_index = 1 then 1.0 else 0.0 end",
    'last_touch': "case when touch_index = touch_count then 1.0 else 0.0 end",
    'last_non_direct': "case when touch_index = coalesce(last_non_direct_index, touch_count) then 1.0 else 0.0 end",
    'linear': "cast(1 as " ~ type_double() ~ ") / touch_count",
    'time_decay': "decay_weight / decay_total",
    'position_based': "case when touch_count = 1 then 1.0 when touch_count = 2 then 0.5"
        ~ " when touch_index = 1 or touch_index = touch_count then 0.4"
        ~ " else cast(0.2 as " ~ type_double() ~ ") / (touch_count - 2) end",
} %}
{%- set rule_names = attribution_rule_models() %}
{%- if credit_rules.keys() | sort != rule_names | sort %}
    {{ exceptions.raise_compiler_error(
        "int_attribution_credits: attribution_rule_models() lists " ~ (rule_names | sort) ~ " but this model has credit rules for "
        ~ (credit_rules.keys() | sort) ~ "; give every listed name its expression in `credit_rules` (and drop the others)"
    ) }}
{%- endif %}
with

conversion_touchpoints as (
    select * from {{ ref('int_conversion_touchpoints') }}
),

decay_weighted as (
    select
        *,
        power(
            cast(2 as {{ type_double() }}),
            -cast({{ seconds_between('touched_at', 'converted_at') }} as {{ type_double() }}) / {{ half_life_days * 86400 }}
        ) as decay_weight
    from conversion_touchpoints
),

-- what the rules need to know about the whole journey, in one window pass
journeys as (
    select
        *,
        -- the last touch whose channel is not direct (null: direct touches only)
        max(case when channel <> 'direct' then touch_index end) over (
            partition by merchant_id, conversion_id
        ) as last_non_direct_index,
        sum(decay_weight) over (partition by merchant_id, conversion_id) as decay_total
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

        -- one credit per rule, in attribution_rule_models() order
        {%- for name in rule_names %}
        cast({{ credit_rules[name] }} as {{ type_double() }}) as credit_{{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    from journeys
)

select * from final
