{#- The UTC calendar date of a timestamp with time zone, whatever the session zone. -#}
{% macro utc_date(column) -%}
    {{ return(adapter.dispatch('utc_date')(column)) }}
{%- endmacro %}

{% macro default__utc_date(column) -%}
    cast(({{ column }} at time zone 'UTC') as date)
{%- endmacro %}

{#- Spark has no `at time zone`: its timestamps are instants read in the session zone, which
    the spark target pins to UTC (profiles.yml). -#}
{% macro spark__utc_date(column) -%}
    to_date({{ column }})
{%- endmacro %}

{#- Seconds between two timestamps with time zone, portable across DuckDB and PostgreSQL. -#}
{% macro seconds_between(start_column, end_column) -%}
    {{ return(adapter.dispatch('seconds_between')(start_column, end_column)) }}
{%- endmacro %}

{% macro default__seconds_between(start_column, end_column) -%}
    (extract(epoch from {{ end_column }}) - extract(epoch from {{ start_column }}))
{%- endmacro %}

{#- Spark cannot extract an epoch; microseconds since it are exact. -#}
{% macro spark__seconds_between(start_column, end_column) -%}
    (cast(unix_micros({{ end_column }}) - unix_micros({{ start_column }}) as double) / 1000000)
{%- endmacro %}

{#- Safe division: null instead of a division-by-zero error. -#}
{% macro safe_divide(numerator, denominator) -%}
    ({{ numerator }}) / nullif({{ denominator }}, 0)
{%- endmacro %}

{#- The UTC hour (0-23) and ISO weekday (0 = Monday .. 6 = Sunday, as Python's weekday()) of a timestamp
    with time zone, whatever the session zone. Dispatched, so an adapter without isodow can override. -#}
{% macro utc_hour(column) -%}
    {{ return(adapter.dispatch('utc_hour')(column)) }}
{%- endmacro %}

{% macro default__utc_hour(column) -%}
    cast(extract(hour from ({{ column }} at time zone 'UTC')) as integer)
{%- endmacro %}

{% macro utc_weekday(column) -%}
    {{ return(adapter.dispatch('utc_weekday')(column)) }}
{%- endmacro %}

{% macro default__utc_weekday(column) -%}
    cast(extract(isodow from ({{ column }} at time zone 'UTC')) as integer) - 1
{%- endmacro %}

{% macro spark__utc_hour(column) -%}
    hour({{ column }})
{%- endmacro %}

{#- Spark's weekday() is already 0 = Monday .. 6 = Sunday. -#}
{% macro spark__utc_weekday(column) -%}
    weekday({{ column }})
{%- endmacro %}
