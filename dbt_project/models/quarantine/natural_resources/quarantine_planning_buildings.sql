with

validated as (

    select
        *,
        -- a duplicated feature repeats the building id: its position in the file tells the copies apart
        concat(coalesce(building_id, ''), ':', feature_index) as record_key
    from {{ ref('int_planning_buildings_validated') }}

),

rejected as (

    select
        ----------  rejection
        'natural_resources/land_planning/buildings' as source_table,
        record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,
        feature_index,

        ----------  the record as landed
        building_id,
        parcel_number,
        floors_text as floors,
        building_use as use,  -- noqa: RF04
        completion_year_text as completion_year,
        footprint_m2,
        geometry_wkb as geometry,  -- noqa: RF04
        geometry_type,
        geometry_valid

    from validated
    where rejection_reason is not null

)

select * from rejected
