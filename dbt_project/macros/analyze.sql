{#- Post-hook of every model: on PostgreSQL, fresh statistics for a table just built, so the
    next models' plans use real row counts (a new table has none until autovacuum's analyze,
    and the planner then sorts millions of rows for merge joins). DuckDB keeps its own. -#}
{% macro analyze_after_build() -%}
    {%- if target.type == 'postgres' and model.config.materialized in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
