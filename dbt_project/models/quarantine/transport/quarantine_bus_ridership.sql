with

validated as (

    select
        *,
        concat(_source_file, ':', _source_row) as record_key
    from {{ ref('int_bus_ridership_validated') }}

),

rejected as (

    select
        ----------  rejection
        'transport/bus_network/ridership' as source_table,
        record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,
        _source_file as source_file,
        _source_row as source_row,

        ----------  the record as landed
        service_date_text as service_date,
        line_id,
        stop_id,
        boardings_text as boardings,
        alightings_text as alightings

    from validated
    where rejection_reason is not null

)

select * from rejected
