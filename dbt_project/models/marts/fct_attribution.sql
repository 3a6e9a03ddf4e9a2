-- Rule-based attribution: one row per model × conversion × touch of its journey, with the
-- touch's credit (credits of one conversion sum to 1 in every model) and the revenue it
-- carries. The data-driven models (markov, shapley) are computed by the Python assets of
-- group `attribution` into marts.fct_attribution_data_driven with the same columns.
--
-- A view: it unpivots int_attribution_credits (one row per touch, one credit column per rule).
-- Storing it would write every touch once per rule; its readers aggregate it, which costs
-- about the same from either form.
{{ config(materialized='view') }}
with

credits as (
    select * from {{ ref('int_attribution_credits') }}
),

unpivoted as (
    {%- for name in attribution_rule_models() %}
    select
        -- keys
        '{{ name }}' as model,
        merchant_id,
        conversion_id,
        touchpoint_id,
        touch_index,

        -- the touch
        channel,
        campaign_id,
        touched_at,
        converted_at,

        -- credit and the revenue it carries
        credit_{{ name }} as credit,
        cast(credit_{{ name }} * revenue as {{ type_double() }}) as attributed_revenue
    from credits
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from unpivoted
