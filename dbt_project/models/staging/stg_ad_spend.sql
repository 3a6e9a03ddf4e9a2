with

source as (
    select * from {{ source('raw', 'ad_spend') }}
),

renamed as (
    select
        -- keys
        merchant_id,
        campaign_id,
        lower(trim(channel)) as channel,
        cast({{ adapter.quote('date') }} as date) as spend_date,

        -- measures
        cast(spend as {{ type_double() }}) as spend,
        impressions,
        clicks

    from source
)

select * from renamed
