with

source as (

    {{ landing_files('vital_records', 'deaths', 'health/vital_records') }}

),

renamed as (

    select
        ----------  ids
        {{ clean_code('死亡证明编号') }} as record_no,
        {{ clean_code('身份证号') }} as id_number,
        cast(身份证号 as varchar) as id_number_text,

        ----------  text
        {{ clean_text('姓名') }} as name,
        {{ clean_text('性别') }} as sex,
        {{ clean_text('死因分类') }} as cause,
        {{ clean_code('行政区划代码') }} as division_code,

        ----------  dates
        cast(死亡日期 as varchar) as death_date_text,
        {{ parse_date_text('死亡日期') }} as death_date,
        cast(报告日期 as varchar) as reported_on_text,
        {{ parse_date_text('报告日期') }} as reported_on,

        ----------  lineage
        cast(_source_file as varchar) as _source_file,
        cast(_source_row as bigint) as _source_row,
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
