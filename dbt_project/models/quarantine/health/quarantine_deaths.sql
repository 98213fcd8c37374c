with

validated as (

    select * from {{ ref('int_deaths_validated') }}

),

rejected as (

    select
        ----------  rejection
        'health/vital_records/deaths' as source_table,
        record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,
        _source_file as source_file,
        _source_row as source_row,

        ----------  the record as landed (standardised text; ID numbers and dates as typed)
        record_no,
        name,
        sex,
        id_number_text as id_number,
        death_date_text as death_date,
        cause,
        division_code,
        reported_on_text as reported_on

    from validated
    where rejection_reason is not null

)

select * from rejected
