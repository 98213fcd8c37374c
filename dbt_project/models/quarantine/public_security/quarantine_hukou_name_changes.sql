with

validated as (

    select * from {{ ref('int_hukou_name_changes_validated') }}

),

rejected as (

    select
        ----------  rejection
        'public_security/hukou/name_changes' as source_table,
        cast(change_id as varchar) as record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,

        ----------  the record as landed
        change_id,
        person_id,
        id_number,
        old_name,
        new_name,
        reason,
        changed_on_text as changed_on,
        updated_at

    from validated
    where rejection_reason is not null

)

select * from rejected
