{#- Generic data tests of the attribution marts. -#}

{#- Every group (e.g. model × merchant × conversion) hands out exactly one conversion. -#}
{% test attribution_credits_sum_to_one(model, group_by_columns, credit_column='credit', tolerance=0.000000001) %}
select
    {{ group_by_columns | join(', ') }},
    sum({{ credit_column }}) as total_credit
from {{ model }}
group by {{ group_by_columns | join(', ') }}
having abs(sum({{ credit_column }}) - 1) > {{ tolerance }}
{% endtest %}

{#- Conservation: per merchant (and per attribution model when `model_column` is set), the
    attributed conversions and revenue equal the merchant's conversions and revenue in
    stg_conversions, within a relative tolerance. A model missing for a merchant that has
    conversions fails too. -#}
{% test attribution_conserves_totals(model, conversions_column, revenue_column, model_column='model', expected_models=none, relative_tolerance=0.000001) %}
{%- set names = expected_models if expected_models is not none else attribution_rule_models() -%}
with

totals as (
    select
        merchant_id,
        cast(count(*) as {{ type_double() }}) as conversions,
        sum(revenue) as revenue
    from {{ ref('stg_conversions') }}
    group by merchant_id
),

model_names as (
    {%- if model_column %}
    {%- for name in names %}
    select '{{ name }}' as model_name{% if not loop.last %} union all{% endif %}
    {%- endfor %}
    {%- else %}
    select 'all' as model_name
    {%- endif %}
),

expected as (
    select totals.merchant_id, model_names.model_name, totals.conversions, totals.revenue
    from totals
    cross join model_names
),

attributed as (
    select
        merchant_id,
        {{ model_column if model_column else "'all'" }} as model_name,
        sum({{ conversions_column }}) as conversions,
        sum({{ revenue_column }}) as revenue
    from {{ model }}
    group by 1, 2
),

compared as (
    select
        coalesce(expected.merchant_id, attributed.merchant_id) as merchant_id,
        coalesce(expected.model_name, attributed.model_name) as model_name,
        coalesce(expected.conversions, 0) as expected_conversions,
        coalesce(attributed.conversions, 0) as attributed_conversions,
        coalesce(expected.revenue, 0) as expected_revenue,
        coalesce(attributed.revenue, 0) as attributed_revenue
    from expected
    full outer join attributed
        on expected.merchant_id = attributed.merchant_id
        and expected.model_name = attributed.model_name
)

select *
from compared
where abs(attributed_conversions - expected_conversions) > {{ relative_tolerance }} * greatest(abs(expected_conversions), 1)
    or abs(attributed_revenue - expected_revenue) > {{ relative_tolerance }} * greatest(abs(expected_revenue), 1)
{% endtest %}
