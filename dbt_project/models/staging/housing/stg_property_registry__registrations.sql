with

source as (

    {{ landing_current(
        'property_registry', 'property_registrations', 'housing/property_registry', ['registration_id']
    ) }}

),

renamed as (

    select
        ----------  ids
        cast(registration_id as bigint) as registration_id,
        {{ clean_text('registration_no') }} as registration_no,
        {{ clean_code('owner_id_number') }} as owner_id_number,
        {{ clean_code('building_id') }} as building_id,

        ----------  text
        {{ clean_text('owner_name') }} as owner_name,
        {{ clean_text('unit') }} as unit,

        ----------  numerics
        cast(area_m2 as varchar) as area_m2_text,
        try_cast({{ clean_text('area_m2') }} as double precision) as area_m2,

        ----------  dates
        cast(registered_on as varchar) as registered_on_text,
        {{ parse_date_text('registered_on') }} as registered_on,
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
