with

source as (

    {{ landing_current('land_planning', 'buildings', 'natural_resources/land_planning', ['building_id']) }}

),

renamed as (

    select
        ----------  ids
        {{ clean_code('building_id') }} as building_id,
        {{ clean_code('parcel_number') }} as parcel_number,

        ----------  attributes
        cast(floors as varchar) as floors_text,
        try_cast({{ clean_text('floors') }} as integer) as floors,
        {{ clean_text('"use"') }} as building_use,
        cast(completion_year as varchar) as completion_year_text,
        try_cast({{ clean_text('completion_year') }} as integer) as completion_year,
        try_cast({{ clean_text('footprint_m2') }} as double precision) as footprint_m2,

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
