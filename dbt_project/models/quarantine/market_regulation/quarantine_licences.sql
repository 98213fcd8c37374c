with

validated as (

    select * from {{ ref('int_licences_validated') }}

),

rejected as (

    select
        ----------  rejection
        'market_regulation/business_registry/licences' as source_table,
        cast(licence_id as varchar) as record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,

        ----------  the record as landed
        licence_id,
        uscc,
        licence_type,
        licence_no,
        issued_by,
        valid_from_text as valid_from,
        valid_to_text as valid_to,
        updated_at

    from validated
    where rejection_reason is not null

)

select * from rejected
