with

source as (
    select * from {{ source('raw', 'ga4_sessions') }}
),

renamed as (
    select
        -- keys
        merchant_id,
        cast({{ adapter.quote('date') }} as date) as session_date,
        lower(coalesce(nullif(trim(source), ''), '(direct)')) as source,
        lower(coalesce(nullif(trim(medium), ''), '(none)')) as medium,
        nullif(trim(campaign_name), '') as campaign_name,

        -- measures
        sessions,
        cast(conversions as {{ type_double() }}) as conversions,
        cast(revenue as {{ type_double() }}) as revenue
    from source
)

select * from renamed
