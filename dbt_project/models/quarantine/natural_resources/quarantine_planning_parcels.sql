with

validated as (

    select
        *,
        -- a duplicated feature repeats the parcel number: its position in the file tells the copies apart
        concat(coalesce(parcel_number, ''), ':', feature_index) as record_key
    from {{ ref('int_planning_parcels_validated') }}

),

rejected as (

    select
        ----------  rejection
        'natural_resources/land_planning/parcels' as source_table,
        record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,
        feature_index,

        ----------  the record as landed
        parcel_number,
        division_code,
        land_use_code,
        land_use,
        right_type,
        area_m2_text as area_m2,
        geometry_wkb as geometry,  -- noqa: RF04
        geometry_type,
        geometry_valid

    from validated
    where rejection_reason is not null

)

select * from rejected
