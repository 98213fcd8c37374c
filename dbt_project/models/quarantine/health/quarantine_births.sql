with

validated as (

    select * from {{ ref('int_births_validated') }}

),

rejected as (

    select
        ----------  rejection
        'health/vital_records/births' as source_table,
        record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,
        _source_file as source_file,
        _source_row as source_row,

        ----------  the record as landed (standardised text; ID numbers and dates as typed)
        certificate_no,
        child_name,
        sex,
        birth_date_text as birth_date,
        birth_place,
        mother_name,
        mother_id_number_text as mother_id_number,
        father_name,
        father_id_number_text as father_id_number,
        division_code,
        issued_on_text as issued_on

    from validated
    where rejection_reason is not null

)

select * from rejected
