{#- The UTC calendar date of a timestamp with time zone, whatever the session zone. -#}
{% macro utc_date(column) -%}
    cast(({{ column }} at time zone 'UTC') as date)
{%- endmacro %}

{#- Seconds between two timestamps with time zone, portable across DuckDB and PostgreSQL. -#}
{% macro seconds_between(start_column, end_column) -%}
    (extract(epoch from {{ end_column }}) - extract(epoch from {{ start_column }}))
{%- endmacro %}

{#- Safe division: null instead of a division-by-zero error. -#}
{% macro safe_divide(numerator, denominator) -%}
    ({{ numerator }}) / nullif({{ denominator }}, 0)
{%- endmacro %}
