with

source as (

    {{ landing_files('bus_network', 'stops', 'transport/bus_network') }}

),

renamed as (

    select
        ----------  ids
        {{ clean_code('"站点编号"') }} as stop_id,
        {{ clean_code('"行政区划代码"') }} as division_code,

        ----------  text
        {{ clean_text('"站点名称"') }} as stop_name,

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
