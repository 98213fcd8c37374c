with

source as (

    {{ landing_files('bus_network', 'lines', 'transport/bus_network') }}

),

renamed as (

    select
        ----------  ids
        {{ clean_code('"线路编号"') }} as line_id,

        ----------  text
        {{ clean_text('"线路名称"') }} as line_name,
        {{ clean_text('"运营单位"') }} as operator_name,
        {{ clean_text('"起点站"') }} as first_stop_name,
        {{ clean_text('"终点站"') }} as last_stop_name,

        ----------  numerics
        try_cast({{ clean_text('"线路长度(公里)"') }} as double precision) as length_km,

        ----------  lineage
        cast(_source_file as varchar) as _source_file,
        cast(_source_row as bigint) as _source_row,
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
