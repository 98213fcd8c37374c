with

validated as (

    select * from {{ ref('int_penalties_validated') }}

),

rejected as (

    select
        ----------  rejection
        'market_regulation/business_registry/penalties' as source_table,
        cast(penalty_id as varchar) as record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,

        ----------  the record as landed
        penalty_id,
        uscc,
        decision_no,
        violation,
        fine_amount,
        decided_on_text as decided_on,
        updated_at

    from validated
    where rejection_reason is not null

)

select * from rejected
