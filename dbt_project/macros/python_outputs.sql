{#- on-run-start: the tables the Python assets write after dbt (sources with meta
    created_before_build), created empty with their declared columns when missing, so the
    marts over them (views) build on a fresh warehouse. Existing tables are left alone. -#}
{% macro create_python_outputs() -%}
    {%- if execute -%}
        {%- set statements = [] -%}
        {%- for node in graph.sources.values() -%}
            {%- set meta = node.config.get('meta', {}) or node.meta -%}
            {%- if meta.get('created_before_build') -%}
                {%- set columns = [] -%}
                {%- for column in node.columns.values() -%}
                    {%- do columns.append(adapter.quote(column.name) ~ ' ' ~ column.data_type) -%}
                {%- endfor -%}
                {%- do statements.append('create schema if not exists ' ~ node.schema) -%}
                {%- do statements.append('create table if not exists ' ~ node.schema ~ '.' ~ node.identifier ~ ' (' ~ columns | join(', ') ~ ')') -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for statement in statements | unique -%}
            {%- do run_query(statement) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
