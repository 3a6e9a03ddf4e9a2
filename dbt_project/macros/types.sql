{#- Column types: the project writes the portable names DuckDB and PostgreSQL share (varchar,
    double precision, timestamp with time zone, integer) in contracts, sources and casts;
    warehouse_type() spells one for the target. Spark has none of those spellings. -#}
{% macro warehouse_type(data_type) -%}
    {{ return(adapter.dispatch('warehouse_type')(data_type)) }}
{%- endmacro %}

{% macro default__warehouse_type(data_type) -%}
    {{ return(data_type) }}
{%- endmacro %}

{% macro spark__warehouse_type(data_type) -%}
    {#- Spark's timestamp is an instant (shown in the session zone, UTC in profiles.yml). -#}
    {%- set spelled = {'varchar': 'string', 'text': 'string', 'double precision': 'double',
                       'timestamp with time zone': 'timestamp', 'timestamptz': 'timestamp', 'integer': 'int'} -%}
    {{ return(spelled.get(data_type | trim | lower, data_type)) }}
{%- endmacro %}

{% macro type_double() -%}{{ warehouse_type('double precision') }}{%- endmacro %}

{% macro type_string() -%}{{ warehouse_type('varchar') }}{%- endmacro %}

{#- dbt's own casts (a contract's declared columns, unit-test fixtures) on Spark take the
    portable names through warehouse_type. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ warehouse_type(type) }})
{%- endmacro %}
