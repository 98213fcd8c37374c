with

source as (

    {{ landing_files('air_quality', 'stations', 'environment/air_quality') }}

),

renamed as (

    select
        ----------  ids
        {{ clean_code('"监测点编码"') }} as station_code,
        {{ clean_code('"行政区划代码"') }} as division_code,

        ----------  text
        {{ clean_text('"监测点名称"') }} as station_name,
        {{ clean_text('"监测点类型"') }} as station_type,

        ----------  location
        try_cast({{ clean_text('"经度"') }} as double precision) as longitude,
        try_cast({{ clean_text('"纬度"') }} as double precision) as latitude,

        ----------  lineage
        cast(_source_file as varchar) as _source_file,
        cast(_source_row as bigint) as _source_row,
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
