with

validated as (

    select * from {{ ref('int_insured_persons_validated') }}

),

rejected as (

    select
        ----------  rejection
        'hr_social_security/social_insurance/insured_persons' as source_table,
        cast(insured_id as varchar) as record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,

        ----------  the record as landed (name and employer_uscc trimmed; id_number and start_date as typed)
        insured_id,
        id_number_text as id_number,
        name,
        insurance_types,
        employer_uscc,
        start_date_text as start_date,
        status,
        updated_at

    from validated
    where rejection_reason is not null

)

select * from rejected
