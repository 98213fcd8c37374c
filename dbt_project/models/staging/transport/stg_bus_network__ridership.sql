with

source as (

    {{ landing_files('bus_network', 'ridership', 'transport/bus_network') }}

),

renamed as (

    select
        ----------  ids
        cast(日期 as varchar) as service_date_text,
        {{ parse_date_text('"日期"') }} as service_date,
        {{ clean_code('"线路编号"') }} as line_id,
        {{ clean_code('"站点编号"') }} as stop_id,

        ----------  counts: text as landed (a negative count is dirt) and the number
        cast(上车人数 as varchar) as boardings_text,
        try_cast({{ clean_text('"上车人数"') }} as integer) as boardings,
        cast(下车人数 as varchar) as alightings_text,
        try_cast({{ clean_text('"下车人数"') }} as integer) as alightings,

        ----------  lineage
        cast(_source_file as varchar) as _source_file,
        cast(_source_row as bigint) as _source_row,
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
