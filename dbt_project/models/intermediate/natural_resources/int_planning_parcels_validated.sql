{#-
    Every parcel feature of the land planning layer, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  parcel_number, division_code, land_use_code, land_use, right_type, area_m2 or
                                 the geometry absent
      2. invalid_division_code   division_code fails GB/T 2260 (macro division_code_problem)
      3. invalid_geometry        the ring is not valid (self-intersecting), or the parcel lies outside Zhengzhou
                                 (the divisions layer's city boundary): coordinates written [lat, lon]
      4. division_mismatch       the parcel's centroid lies in another division than division_code says
      5. duplicate_record        an earlier feature that passes rules 1-4 has the same parcel_number
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = ['missing_required_field', 'invalid_division_code', 'invalid_geometry', 'division_mismatch'] -%}

with

parcels as (

    select
        *,
        st_centroid(st_geomfromwkb(geometry_wkb)) as centroid
    from {{ ref('stg_land_planning__parcels') }}

),

divisions as (

    select
        division_code,
        st_geomfromwkb(geometry_wkb) as boundary
    from {{ ref('stg_land_planning__divisions') }}

),

located as (

    -- the county-level division (not the city, 410100) holding each parcel's centroid
    select
        parcels.*,
        holder.division_code as located_division_code,
        st_x(parcels.centroid) as centroid_x,
        st_y(parcels.centroid) as centroid_y,
        city.division_code is not null as inside_city
    from parcels
    left join divisions as city
        on
            city.division_code = '410100'
            and st_within(parcels.centroid, city.boundary)
    left join divisions as holder
        on
            holder.division_code != '410100'
            and st_within(parcels.centroid, holder.boundary)

),

checked as (

    select
        *,
        concat_ws(
            ', ',
            case when parcel_number is null then 'parcel_number' end,
            case when division_code is null then 'division_code' end,
            case when land_use_code is null then 'land_use_code' end,
            case when land_use is null then 'land_use' end,
            case when right_type is null then 'right_type' end,
            case when nullif(trim(area_m2_text), '') is null then 'area_m2' end,
            case when geometry_wkb is null then 'geometry' end
        ) as missing_fields,
        {{ division_code_problem('division_code') }} as division_code_problem
    from located

),

rule_details as (

    select
        *,

        case
            when missing_fields != ''
                then concat('required property absent: ', missing_fields)
        end as missing_required_field_detail,

        case
            when division_code_problem is not null
                then concat('division_code ', division_code, ' fails GB/T 2260: ', division_code_problem)
        end as invalid_division_code_detail,

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
            when coalesce(located_division_code, '') != division_code
                then concat(
                    'division_code ', division_code, ' but the geometry lies in ',
                    coalesce(located_division_code, 'no division')
                )
        end as division_mismatch_detail

    from checked

),

rules_applied as (

    -- the surviving feature of a duplicated parcel is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_record_detail(
            'feature_index',
            partition_by='parcel_number',
            other_rules=other_rules,
            label='feature'
        ) }}
    from rule_details

),

validated as (

    select
        parcel_number,
        division_code,
        land_use_code,
        land_use,
        right_type,
        area_m2_text,
        area_m2,
        geometry_wkb,
        geometry_type,
        geometry_valid,
        located_division_code,
        feature_index,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
