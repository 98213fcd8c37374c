with

validated as (

    select * from {{ ref('int_insurance_arrears_validated') }}

),

rejected as (

    select
        ----------  rejection
        'hr_social_security/social_insurance/arrears' as source_table,
        cast(arrears_id as varchar) as record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,

        ----------  the record as landed
        arrears_id,
        employer_uscc_text as employer_uscc,
        months_owed,
        amount,
        since_text as since,
        updated_at

    from validated
    where rejection_reason is not null

)

select * from rejected
