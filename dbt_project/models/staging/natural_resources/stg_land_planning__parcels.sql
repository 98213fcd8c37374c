with

source as (

    {{ landing_current('land_planning', 'parcels', 'natural_resources/land_planning', ['parcel_number']) }}

),

renamed as (

    select
        ----------  ids
        {{ clean_code('parcel_number') }} as parcel_number,
        {{ clean_code('division_code') }} as division_code,

        ----------  attributes
        {{ clean_code('land_use_code') }} as land_use_code,
        {{ clean_text('land_use') }} as land_use,
        {{ clean_text('right_type') }} as right_type,
        cast(area_m2 as varchar) as area_m2_text,
        try_cast({{ clean_text('area_m2') }} as double precision) as area_m2,

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
