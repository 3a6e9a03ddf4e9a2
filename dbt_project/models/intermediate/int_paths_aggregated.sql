-- Unique channel paths per merchant with their converting and non-converting journeys:
-- the input of the Markov and Shapley assets. `path` joins the channels in journey order
-- with ' > ' (e.g. 'email > x > google_ads').
{%- set delimiter = attribution_path_delimiter() %}
with

conversion_touchpoints as (
    select * from {{ ref('int_conversion_touchpoints') }}
),

nonconverting_touchpoints as (
    select * from {{ ref('int_nonconverting_touchpoints') }}
),

-- one row per journey
conversion_paths as (
    select
        merchant_id,
        conversion_id,
        max(revenue) as revenue,
        {{ attribution_string_agg('channel', delimiter, 'touch_index') }} as path
    from conversion_touchpoints
    group by merchant_id, conversion_id
),

-- ordered by (touched_at, touchpoint_id), which is what touch_index numbers: the view's
-- row_number and count windows are then never computed
nonconverting_paths as (
    select
        merchant_id,
        user_id,
        {{ attribution_string_agg('channel', delimiter, 'touched_at, touchpoint_id') }} as path
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
