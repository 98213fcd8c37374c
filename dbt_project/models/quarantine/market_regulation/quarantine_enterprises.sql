with

validated as (

    select * from {{ ref('int_enterprises_validated') }}

),

rejected as (

    select
        ----------  rejection
        'market_regulation/business_registry/enterprises' as source_table,
        cast(enterprise_id as varchar) as record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,

        ----------  the record as landed
        enterprise_id,
        uscc,
        name,
        entity_type,
        status,
        registered_capital,
        established_on_text as established_on,
        division_code,
        address,
        legal_rep_id_number,
        legal_rep_name,
        updated_at

    from validated
    where rejection_reason is not null

)

select * from rejected
