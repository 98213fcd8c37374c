with

validated as (

    select * from {{ ref('int_taxpayer_credit_ratings_validated') }}

),

keyed as (

    -- a workbook row is named by its file and its position in it
    select
        *,
        concat(_source_file, ':', _source_row) as record_key
    from validated

),

rejected as (

    select
        ----------  rejection
        'tax/credit_ratings/taxpayer_credit' as source_table,
        record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,
        _source_file as source_file,
        _source_row as source_row,

        ----------  the record as landed
        serial_no,
        uscc_text as uscc,
        taxpayer_name,
        rating_text as rating,
        rating_year,
        assessed_on_text as assessed_on,
        tax_office

    from keyed
    where rejection_reason is not null

)

select * from rejected
