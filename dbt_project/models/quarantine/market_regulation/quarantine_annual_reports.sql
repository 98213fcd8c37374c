with

validated as (

    select * from {{ ref('int_annual_reports_validated') }}

),

rejected as (

    select
        ----------  rejection
        'market_regulation/business_registry/annual_reports' as source_table,
        cast(report_id as varchar) as record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,

        ----------  the record as landed
        report_id,
        uscc,
        report_year,
        employees,
        revenue_band,
        submitted_on_text as submitted_on,
        updated_at

    from validated
    where rejection_reason is not null

)

select * from rejected
