with

source as (

    {{ landing_current(
        'civil_registry', 'marriage_registrations', 'civil_affairs/civil_registry', ['registration_id']
    ) }}

),

renamed as (

    select
        ----------  ids
        cast(registration_id as bigint) as registration_id,
        {{ clean_code('certificate_no') }} as certificate_no,
        {{ clean_code('marriage_certificate_no') }} as marriage_certificate_no,
        {{ clean_code('husband_id_number') }} as husband_id_number,
        {{ clean_code('wife_id_number') }} as wife_id_number,

        ----------  text
        {{ clean_text('registration_type') }} as registration_type,
        {{ clean_text('husband_name') }} as husband_name,
        {{ clean_text('wife_name') }} as wife_name,
        {{ clean_text('registry_office') }} as registry_office,

        ----------  dates
        cast(registered_on as varchar) as registered_on_text,
        {{ parse_date_text('registered_on') }} as registered_on,
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
