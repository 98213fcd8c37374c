with

validated as (

    select * from {{ ref('int_dishonest_debtors_validated') }}

),

rejected as (

    select
        ----------  rejection
        'courts/dishonest_debtors/dishonest_debtors' as source_table,
        cast(case_id as varchar) as record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,

        ----------  the record as landed
        case_id,
        case_number,
        debtor_type,
        name,
        id_number_text as id_number,
        uscc_text as uscc,
        legal_rep_name,
        court,
        filed_on_text as filed_on,
        obligation,
        performance_status,
        dishonest_conduct,
        published_at,
        updated_at

    from validated
    where rejection_reason is not null

)

select * from rejected
