with

source as (

    {{ landing_files('bus_network', 'line_stops', 'transport/bus_network') }}

),

renamed as (

    select
        ----------  ids
        {{ clean_code('"线路编号"') }} as line_id,
        try_cast({{ clean_text('"站序"') }} as integer) as stop_sequence,
        {{ clean_code('"站点编号"') }} as stop_id,

        ----------  lineage
        cast(_source_file as varchar) as _source_file,
        cast(_source_row as bigint) as _source_row,
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
