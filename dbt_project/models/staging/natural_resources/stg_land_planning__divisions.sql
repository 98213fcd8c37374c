with

source as (

    {{ landing_current('land_planning', 'divisions', 'natural_resources/land_planning', ['division_code']) }}

),

renamed as (

    select
        ----------  ids
        {{ clean_code('division_code') }} as division_code,
        {{ clean_code('parent_code') }} as parent_code,

        ----------  attributes
        {{ clean_text('name') }} as division_name,
        {{ clean_text('level') }} as division_level,
        {{ clean_text('boundary_source') }} as boundary_source,

        ----------  geometry
        cast(geometry as blob) as geometry_wkb,
        cast(geometry_type as varchar) as geometry_type,
        cast(geometry_valid as boolean) as geometry_valid,

        ----------  lineage
        cast(feature_index as bigint) as feature_index,
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
