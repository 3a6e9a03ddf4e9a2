{#- int_paths_aggregated, per warehouse. Both spellings give the same rows: a journey's path lists its
    channels by time, simultaneous touches by channel name (compared byte by byte), so a path depends
    on the channels alone and never on which touch row came first. The model's unit tests hold both
    to the same hand-made expectations (DuckDB in `make test`, Spark in `make test-spark`,
    PostgreSQL with CI=true), and the Spark leg compares the demo's marts with DuckDB's. -#}
{% macro attribution_paths_aggregated(conversion_touchpoints, nonconverting_touchpoints, touchpoints, conversions) -%}
    {{ return(adapter.dispatch('attribution_paths_aggregated')(conversion_touchpoints, nonconverting_touchpoints, touchpoints, conversions)) }}
{%- endmacro %}

{#- A text column compared byte by byte (PostgreSQL compares by the database's collation otherwise). -#}
{% macro bytewise(column) -%}
    {{ return(adapter.dispatch('bytewise')(column)) }}
{%- endmacro %}

{% macro default__bytewise(column) -%}
    {{ column }}
{%- endmacro %}

{% macro postgres__bytewise(column) -%}
    {{ column }} collate "C"
{%- endmacro %}

{#- PostgreSQL and Spark: an ordered string aggregate per journey, the open journeys taken from
    int_nonconverting_touchpoints (lookback already applied). -#}
{% macro default__attribution_paths_aggregated(conversion_touchpoints, nonconverting_touchpoints, touchpoints, conversions) -%}
{%- set delimiter = attribution_path_delimiter() %}
{%- set path_order = 'touched_at, ' ~ bytewise('channel') %}
with

conversion_touchpoints as (
    select * from {{ conversion_touchpoints }}
),

nonconverting_touchpoints as (
    select * from {{ nonconverting_touchpoints }}
),

-- one row per journey
conversion_paths as (
    select
        merchant_id,
        conversion_id,
        max(revenue) as revenue,
        {{ attribution_string_agg('channel', delimiter, path_order) }} as path
    from conversion_touchpoints
    group by merchant_id, conversion_id
),

-- the view's row_number and count windows are never computed: only its rows are read
nonconverting_paths as (
    select
        merchant_id,
        user_id,
        {{ attribution_string_agg('channel', delimiter, path_order) }} as path
    from nonconverting_touchpoints
    group by merchant_id, user_id
),

journeys as (
    select merchant_id, path, 1 as is_conversion, revenue
    from conversion_paths
    union all
    select merchant_id, path, 0 as is_conversion, 0 as revenue
    from nonconverting_paths
),

final as (
    select
        merchant_id,
        path,
        cast(sum(is_conversion) as bigint) as conversions,
        cast(sum(revenue) as {{ type_double() }}) as revenue,
        cast(sum(1 - is_conversion) as bigint) as non_conversions
    from journeys
    group by merchant_id, path
)

select * from final
{%- endmacro %}

{#- DuckDB: its ordered aggregates cost more than everything else in a large build (about 35 s of the
    10x benchmark's paths on 2 cores, half of it sorting 40M open touches by a two-column key per
    user). Here each touch becomes one integer, key = (microseconds since the first touch) x
    (number of channels) + the channel's code, so sorting a journey's keys orders its touches by
    time and simultaneous ones by channel name. A journey's keys are gathered unordered and sorted
    as a list (`list_sort` of integers is cheap), the lookback is a bound on the keys (no window
    over the open touches), and paths are grouped as lists of codes before they become text.
    The open journeys are int_nonconverting_touchpoints' (touches_after_last_conversion, within
    lookback_days before the journey's last touch), read from staging because that view's window is
    what this avoids. Keys overflow (a clear error from DuckDB) only past
    about 29,000 channels over ten years of touches. -#}
{% macro duckdb__attribution_paths_aggregated(conversion_touchpoints, nonconverting_touchpoints, touchpoints, conversions) -%}
{%- set lookback_microseconds = (var('lookback_days') | float * 86400 * 1000000) | round | int %}
with

conversion_touchpoints as (
    select * from {{ conversion_touchpoints }}
),

-- read three times (channels, key origin, open touches): scanned each time rather than held in
-- memory, which cost 2.5 GB at 10x for no gain in time
touchpoints as not materialized (
    select * from {{ touchpoints }}
),

conversions as (
    select * from {{ conversions }}
),

-- every channel with a code in name order ('direct' always: a journey without touches is direct)
channels as (
    select
        channel,
        cast(row_number() over (order by channel) - 1 as bigint) as code
    from (
        select channel from touchpoints
        union
        select channel from conversion_touchpoints
        union
        select 'direct'
    )
),

key_scale as (
    select
        list(channel order by code) as channel_names,
        cast(count(*) as bigint) as n_channels,
        (
            select least(min(epoch_us(t.touched_at)), (select min(epoch_us(c.touched_at)) from conversion_touchpoints as c))
            from touchpoints as t
        ) as origin
    from channels
),

-- one row per journey: its touches' keys, sorted
conversion_journeys as (
    select
        ct.merchant_id,
        ct.conversion_id,
        max(ct.revenue) as revenue,
        list_sort(list((epoch_us(ct.touched_at) - ks.origin) * ks.n_channels + ch.code)) as keys
    from conversion_touchpoints as ct
    inner join channels as ch on ch.channel = ct.channel
    cross join key_scale as ks
    group by ct.merchant_id, ct.conversion_id
),

-- touches after the user's last conversion (macros/attribution_macros.sql), as keys
open_touches as (
    select
        ot.merchant_id,
        ot.user_id,
        (epoch_us(ot.touched_at) - ks.origin) * ks.n_channels + ch.code as key
    from ({{ touches_after_last_conversion('touchpoints', 'conversions') }}) as ot
    inner join channels as ch on ch.channel = ot.channel
    cross join key_scale as ks
),

-- one row per open journey: its keys, sorted
open_journeys as (
    select
        merchant_id,
        list_sort(list(key)) as keys
    from open_touches
    group by merchant_id, user_id
),

-- the lookback window ends at the journey's last touch (its last key): keys from the window's
-- first microsecond on
journeys as (
    select merchant_id, keys, 1 as is_conversion, revenue
    from conversion_journeys
    union all
    select
        oj.merchant_id,
        list_filter(oj.keys, lambda key: key >= (oj.keys[-1] // ks.n_channels - {{ lookback_microseconds }}) * ks.n_channels),
        0 as is_conversion,
        0 as revenue
    from open_journeys as oj
    cross join key_scale as ks
),

-- equal paths share a row: grouped as channel codes, spelled once per path
paths as (
    select
        j.merchant_id,
        list_transform(j.keys, lambda key: key % ks.n_channels) as codes,
        cast(sum(j.is_conversion) as bigint) as conversions,
        cast(sum(j.revenue) as {{ type_double() }}) as revenue,
        cast(sum(1 - j.is_conversion) as bigint) as non_conversions
    from journeys as j
    cross join key_scale as ks
    group by j.merchant_id, codes
),

final as (
    select
        p.merchant_id,
        array_to_string(list_transform(p.codes, lambda code: ks.channel_names[code + 1]), '{{ attribution_path_delimiter() }}') as path,
        p.conversions,
        p.revenue,
        p.non_conversions
    from paths as p
    cross join key_scale as ks
)

select * from final
{%- endmacro %}
