{#-
    Every building feature of the land planning layer, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  building_id, parcel_number, floors, use, completion_year or the geometry absent
      2. invalid_geometry        the ring is not valid (self-intersecting), or the building lies outside Zhengzhou
                                 (the divisions layer's city boundary): coordinates written [lat, lon]
      3. orphan_reference        parcel_number not in the parcels layer
      4. duplicate_record        an earlier feature that passes rules 1-3 has the same building_id
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = ['missing_required_field', 'invalid_geometry', 'orphan_reference'] -%}

with

buildings as (

    select
        *,
        st_centroid(st_geomfromwkb(geometry_wkb)) as centroid
    from {{ ref('stg_land_planning__buildings') }}

),

city as (

    select st_geomfromwkb(geometry_wkb) as boundary
    from {{ ref('stg_land_planning__divisions') }}
    where division_code = '410100'

),

parcels as (

    select distinct parcel_number
    from {{ ref('stg_land_planning__parcels') }}

),

checked as (

    select
        buildings.*,
        st_x(buildings.centroid) as centroid_x,
        st_y(buildings.centroid) as centroid_y,
        coalesce(st_within(buildings.centroid, city.boundary), false) as inside_city,
        parcels.parcel_number is not null as parcel_known,
        concat_ws(
            ', ',
            case when buildings.building_id is null then 'building_id' end,
            case when buildings.parcel_number is null then 'parcel_number' end,
            case when nullif(trim(buildings.floors_text), '') is null then 'floors' end,
            case when buildings.building_use is null then 'use' end,
            case when nullif(trim(buildings.completion_year_text), '') is null then 'completion_year' end,
            case when buildings.geometry_wkb is null then 'geometry' end
        ) as missing_fields
    from buildings
    cross join city
    left join parcels
        on buildings.parcel_number = parcels.parcel_number

),

rule_details as (

    select
        *,

        case
            when missing_fields != ''
                then concat('required property absent: ', missing_fields)
        end as missing_required_field_detail,

        case
            when not geometry_valid
                then concat(geometry_type, ' is not valid: its ring crosses itself')
            when not inside_city
                then concat(
                    'geometry lies outside Zhengzhou (centroid ', round(centroid_x, 4), ', ', round(centroid_y, 4),
                    '): coordinates given as [lat, lon]'
                )
        end as invalid_geometry_detail,

        case
            when not parcel_known
                then concat('parcel_number ', parcel_number, ' is not in natural_resources/land_planning/parcels')
        end as orphan_reference_detail

    from checked

),

rules_applied as (

    -- the surviving feature of a duplicated building is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_record_detail(
            'feature_index',
            partition_by='building_id',
            other_rules=other_rules,
            label='feature'
        ) }}
    from rule_details

),

validated as (

    select
        building_id,
        parcel_number,
        floors_text,
        floors,
        building_use,
        completion_year_text,
        completion_year,
        footprint_m2,
        geometry_wkb,
        geometry_type,
        geometry_valid,
        feature_index,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
