with

source as (

    {{ landing_current('business_registry', 'licences', 'market_regulation/business_registry', ['licence_id']) }}

),

renamed as (

    select
        ----------  ids
        cast(licence_id as bigint) as licence_id,
        cast(uscc as varchar) as uscc,
        {{ clean_text('licence_no') }} as licence_no,

        ----------  text
        {{ clean_text('licence_type') }} as licence_type,
        {{ clean_text('issued_by') }} as issued_by,

        ----------  dates
        cast(valid_from as varchar) as valid_from_text,
        {{ parse_date_text('valid_from') }} as valid_from,
        cast(valid_to as varchar) as valid_to_text,
        {{ parse_date_text('valid_to') }} as valid_to,
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
