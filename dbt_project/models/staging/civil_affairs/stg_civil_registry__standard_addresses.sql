with

source as (

    {{ landing_current('civil_registry', 'standard_addresses', 'civil_affairs/civil_registry', ['address_id']) }}

),

renamed as (

    select
        ----------  ids
        cast(address_id as bigint) as address_id,

        ----------  text
        {{ clean_text('standard_address') }} as standard_address,
        {{ clean_code('division_code') }} as division_code,
        {{ clean_text('street') }} as street,
        {{ clean_text('road') }} as road,
        {{ clean_text('house_number') }} as house_number,
        {{ clean_text('building') }} as building,

        ----------  coordinates
        try_cast({{ clean_text('longitude') }} as double precision) as longitude,
        try_cast({{ clean_text('latitude') }} as double precision) as latitude,

        ----------  dates
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
