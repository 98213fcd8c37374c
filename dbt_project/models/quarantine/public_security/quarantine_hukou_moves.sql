with

validated as (

    select * from {{ ref('int_hukou_moves_validated') }}

),

rejected as (

    select
        ----------  rejection
        'public_security/hukou/moves' as source_table,
        cast(move_id as varchar) as record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,

        ----------  the record as landed
        move_id,
        person_id,
        id_number,
        from_division_code,
        from_address,
        to_division_code,
        to_address,
        moved_on_text as moved_on,
        updated_at

    from validated
    where rejection_reason is not null

)

select * from rejected
