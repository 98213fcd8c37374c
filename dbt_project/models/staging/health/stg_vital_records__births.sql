with

source as (

    {{ landing_files('vital_records', 'births', 'health/vital_records') }}

),

renamed as (

    select
        ----------  ids
        {{ clean_code('出生证编号') }} as certificate_no,
        {{ clean_code('母亲证件号码') }} as mother_id_number,
        {{ clean_code('父亲身份证号') }} as father_id_number,
        cast(母亲证件号码 as varchar) as mother_id_number_text,
        cast(父亲身份证号 as varchar) as father_id_number_text,

        ----------  text
        {{ clean_text('姓名') }} as child_name,
        {{ clean_text('性别') }} as sex,
        {{ clean_text('出生地点') }} as birth_place,
        {{ clean_text('母亲姓名') }} as mother_name,
        {{ clean_text('父亲姓名') }} as father_name,
        {{ clean_code('行政区划代码') }} as division_code,

        ----------  dates
        cast(出生日期 as varchar) as birth_date_text,
        {{ parse_date_text('出生日期') }} as birth_date,
        cast(签发日期 as varchar) as issued_on_text,
        {{ parse_date_text('签发日期') }} as issued_on,

        ----------  lineage
        cast(_source_file as varchar) as _source_file,
        cast(_source_row as bigint) as _source_row,
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
