with

source as (
    select * from {{ source('raw', 'conversions') }}
),

renamed as (
    select
        -- keys
        merchant_id,
        conversion_id,
        user_id,

        -- when and how much
        converted_at,
        cast(revenue as {{ type_double() }}) as revenue

    from source
)

select * from renamed
