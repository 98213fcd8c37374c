with

validated as (

    select * from {{ ref('int_marriage_registrations_validated') }}

),

rejected as (

    select
        ----------  rejection
        'civil_affairs/civil_registry/marriage_registrations' as source_table,
        cast(registration_id as varchar) as record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,

        ----------  the record as landed
        registration_id,
        certificate_no,
        registration_type,
        marriage_certificate_no,
        husband_id_number,
        husband_name,
        wife_id_number,
        wife_name,
        registered_on_text as registered_on,
        registry_office,
        updated_at

    from validated
    where rejection_reason is not null

)

select * from rejected
