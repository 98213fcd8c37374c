with

validated as (

    select * from {{ ref('int_persons_validated') }}

),

rejected as (

    select
        ----------  rejection
        'public_security/hukou/persons' as source_table,
        cast(person_id as varchar) as record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,

        ----------  the record as landed
        person_id,
        id_number,
        name,
        sex,
        birth_date_text as birth_date,
        ethnicity,
        household_id,
        division_code,
        address,
        registered_at,
        updated_at

    from validated
    where rejection_reason is not null

)

select * from rejected
