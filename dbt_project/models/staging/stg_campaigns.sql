with

source as (
    select * from {{ source('raw', 'campaigns') }}
),

renamed as (
    select
        merchant_id,
        campaign_id,
        name as campaign_name,
        campaign_type,
        status as campaign_status,
        budget,
        start_date as starts_at,
        end_date as ends_at,
        channels,
        updated_at
    from source
)

select * from renamed
