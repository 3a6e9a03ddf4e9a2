{#- Layers land in plain schemas (staging, intermediate, marts) on every target, so the
    app and the Python assets find the same relation names on DuckDB and PostgreSQL. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
