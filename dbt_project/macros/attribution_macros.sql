{#- Attribution helpers: the rule-based model names, the path delimiter, ordered string_agg (the
    PostgreSQL and Spark spelling of the paths, macros/attribution_paths.sql). -#}

{#- The rule-based models, in display order: int_attribution_credits has a `credit_<name>` column for
    each, and fct_attribution unpivots them. -#}
{% macro attribution_rule_models() -%}
    {{ return(['first_touch', 'last_touch', 'last_non_direct', 'linear', 'time_decay', 'position_based']) }}
{%- endmacro %}

{#- The touches of a user's open journey: those strictly after the user's last conversion, every
    touch of a user who never converted (`touchpoints` and `conversions` are relations or CTE names
    with staging's columns). The one home of this rule: int_nonconverting_touchpoints and DuckDB's
    paths (macros/attribution_paths.sql) both select from it and apply the lookback after it. -#}
{% macro touches_after_last_conversion(touchpoints, conversions) -%}
    select t.*
    from {{ touchpoints }} as t
    left join (
        select
            merchant_id,
            user_id,
            max(converted_at) as last_converted_at
        from {{ conversions }}
        group by merchant_id, user_id
    ) as lc
        on lc.merchant_id = t.merchant_id
        and lc.user_id = t.user_id
    where lc.last_converted_at is null
        or t.touched_at > lc.last_converted_at
{%- endmacro %}

{#- Separator of channels in int_paths_aggregated.path; the Python assets split on it. -#}
{% macro attribution_path_delimiter() -%}
    {{ return(' > ') }}
{%- endmacro %}

{#- string_agg of `measure` ordered by `order_by`. DuckDB and PostgreSQL both accept
    `string_agg(x, sep order by y)`; other adapters can override through dispatch. -#}
{% macro attribution_string_agg(measure, delimiter, order_by) -%}
    {{ return(adapter.dispatch('attribution_string_agg')(measure, delimiter, order_by)) }}
{%- endmacro %}

{% macro default__attribution_string_agg(measure, delimiter, order_by) -%}
    string_agg({{ measure }}, '{{ delimiter }}' order by {{ order_by }})
{%- endmacro %}

{#- Spark 4 spells the ordered aggregate with `within group`. -#}
{% macro spark__attribution_string_agg(measure, delimiter, order_by) -%}
    string_agg({{ measure }}, '{{ delimiter }}') within group (order by {{ order_by }})
{%- endmacro %}

{#- The model names as a one-column relation (`model`), so every model gets a row even
    where it credited nothing (roi_by_model keeps spend without conversions). -#}
{% macro attribution_rule_models_relation() -%}
    {%- for name in attribution_rule_models() %}
    select '{{ name }}' as model{% if not loop.last %} union all{% endif %}
    {%- endfor %}
{%- endmacro %}
