with

source as (

    {{ landing_current('business_registry', 'annual_reports', 'market_regulation/business_registry', ['report_id']) }}

),

renamed as (

    select
        ----------  ids
        cast(report_id as bigint) as report_id,
        cast(uscc as varchar) as uscc,

        ----------  report
        cast(report_year as integer) as report_year,
        cast(employees as integer) as employees,
        {{ clean_text('revenue_band') }} as revenue_band,

        ----------  dates
        cast(submitted_on as varchar) as submitted_on_text,
        {{ parse_date_text('submitted_on') }} as submitted_on,
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
