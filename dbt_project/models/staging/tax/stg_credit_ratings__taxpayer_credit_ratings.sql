with

source as (

    {{ landing_files('credit_ratings', 'taxpayer_credit', 'tax/credit_ratings') }}

),

renamed as (

    select
        ----------  ids
        cast(纳税人识别号 as varchar) as uscc_text,
        {{ clean_code('纳税人识别号') }} as uscc,
        try_cast({{ clean_text('序号') }} as integer) as serial_no,  -- a row number typed by hand: never fails the build

        ----------  rating
        {{ clean_text('纳税人名称') }} as taxpayer_name,
        cast(信用等级 as varchar) as rating_text,
        {{ clean_code('信用等级') }} as rating,
        cast(评价年度 as varchar) as rating_year_text,
        try_cast({{ clean_text('评价年度') }} as integer) as rating_year,
        {{ clean_text('主管税务机关') }} as tax_office,

        ----------  dates
        -- the workbook's month, from its name taxpayer_credit_YYYYMM.xlsx
        substr(_source_file, length('taxpayer_credit_') + 1, 6) as rating_month,
        cast(评价日期 as varchar) as assessed_on_text,
        {{ parse_date_text('评价日期') }} as assessed_on,

        ----------  lineage
        cast(_source_file as varchar) as _source_file,
        cast(_source_row as bigint) as _source_row,
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
