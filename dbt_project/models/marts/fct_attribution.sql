-- Rule-based attribution: one row per model × conversion × touch of its journey, with the
-- touch's credit (credits of one conversion sum to 1 in every model) and the revenue it
-- carries. The data-driven models (markov, shapley) are computed by the Python assets of
-- group `attribution` into marts.fct_attribution_data_driven with the same columns.
with

{% for name in attribution_rule_models() -%}
{{ name }} as (
    select * from {{ ref('int_attribution_' ~ name) }}
),

{% endfor -%}
unioned as (
    {%- for name in attribution_rule_models() %}
    select * from {{ name }}{% if not loop.last %}
    union all{% endif %}
    {%- endfor %}
),

final as (
    select
        -- keys
        model,
        merchant_id,
        conversion_id,
        touchpoint_id,
        touch_index,

        -- the touch
        channel,
        campaign_id,
        touched_at,
        converted_at,

        -- credit and revenue
        credit,
        attributed_revenue
    from unioned
)

select * from final
