with

validated as (

    select * from {{ ref('int_property_registrations_validated') }}

),

rejected as (

    select
        ----------  rejection
        'housing/property_registry/property_registrations' as source_table,
        cast(registration_id as varchar) as record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,

        ----------  the record as landed
        registration_id,
        registration_no,
        owner_id_number,
        owner_name,
        building_id,
        unit,
        area_m2_text as area_m2,
        registered_on_text as registered_on,
        updated_at

    from validated
    where rejection_reason is not null

)

select * from rejected
