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
                    {%- do columns.append(adapter.quote(column.name) ~ ' ' ~ warehouse_type(column.data_type)) -%}
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

{#- on-run-end: when this run built a mart, record its start (UTC) as the rule-based marts'
    build time in marts.build_stamps, which the data-driven asset stamps after it. Exports and
    the app compare the two: Markov and Shapley older than the rule-based marts get a warning. -#}
{% macro stamp_rule_based_marts(results) -%}
    {%- if execute -%}
        {%- set built = [] -%}
        {%- for result in results -%}
            {%- if result.node.resource_type == 'model' and result.status == 'success' and result.node.fqn[1] == 'marts' -%}
                {%- do built.append(result.node.name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if built -%}
            {%- do replace_build_stamp(source('attribution', 'build_stamps'), 'rule_based', run_started_at.strftime('%Y-%m-%d %H:%M:%S')) -%}
        {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- The one row of `family` in marts.build_stamps becomes `built_at` (UTC, 'YYYY-MM-DD HH:MM:SS'). -#}
{% macro replace_build_stamp(stamps, family, built_at) -%}
    {{ return(adapter.dispatch('replace_build_stamp')(stamps, family, built_at)) }}
{%- endmacro %}

{% macro default__replace_build_stamp(stamps, family, built_at) -%}
    {%- do run_query("delete from " ~ stamps ~ " where family = '" ~ family ~ "'") -%}
    {%- do run_query("insert into " ~ stamps ~ " (family, built_at) values ('" ~ family ~ "', cast('" ~ built_at ~ "' as timestamp))") -%}
{%- endmacro %}

{#- Parquet tables have no DELETE, and Spark cannot overwrite a table it reads in the same
    statement: the other families' stamps (a row or two) are read first, then written back
    with the new one. -#}
{% macro spark__replace_build_stamp(stamps, family, built_at) -%}
    {%- set others = run_query("select family, cast(built_at as string) as built_at from " ~ stamps ~ " where family <> '" ~ family ~ "'") -%}
    {%- set rows = ["('" ~ family ~ "', cast('" ~ built_at ~ "' as timestamp))"] -%}
    {%- for row in others.rows -%}
        {%- do rows.append("('" ~ row[0] ~ "', cast('" ~ row[1] ~ "' as timestamp))") -%}
    {%- endfor -%}
    {%- do run_query("insert overwrite table " ~ stamps ~ " values " ~ rows | join(', ')) -%}
{%- endmacro %}
