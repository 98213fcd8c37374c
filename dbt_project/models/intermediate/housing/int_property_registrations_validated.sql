{#-
    Every property registration of the run, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  registration_no, owner_id_number, owner_name, building_id, unit, area_m2 or
                                 registered_on NULL or blank
      2. invalid_id_number       owner_id_number fails GB 11643 (macro id_number_problem)
      3. impossible_date         registered_on not a calendar date, or after the snapshot date
      4. invalid_value           area_m2 not a positive number
      5. orphan_reference        building_id is not a building of the land planning buildings layer
      6. duplicate_record        an earlier registration (lower registration_id) that passes rules 1-5 has the
                                 same registration_no (a certificate is issued once)
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = [
    'missing_required_field', 'invalid_id_number', 'impossible_date',
    'invalid_value', 'orphan_reference'
] -%}

with

registrations as (

    select * from {{ ref('stg_property_registry__registrations') }}

),

buildings as (

    -- a feature exported twice is still one building
    select distinct building_id
    from {{ ref('stg_land_planning__buildings') }}

),

snapshot as (

    -- the snapshot date of the run: the date of its latest update
    select cast(max(updated_at) as date) as snapshot_date
    from registrations

),

checked as (

    select
        registrations.*,
        snapshot.snapshot_date,
        concat_ws(
            ', ',
            case when registrations.registration_no is null then 'registration_no' end,
            case when registrations.owner_id_number is null then 'owner_id_number' end,
            case when registrations.owner_name is null then 'owner_name' end,
            case when registrations.building_id is null then 'building_id' end,
            case when registrations.unit is null then 'unit' end,
            case when nullif(trim(registrations.area_m2_text), '') is null then 'area_m2' end,
            case when nullif(trim(registrations.registered_on_text), '') is null then 'registered_on' end
        ) as missing_fields,
        {{ id_number_problem('registrations.owner_id_number') }} as owner_id_number_problem,
        buildings.building_id is not null as building_exists

    from registrations
    cross join snapshot
    left join buildings on registrations.building_id = buildings.building_id

),

rule_details as (

    select
        *,

        case
            when missing_fields != ''
                then concat('required field empty: ', missing_fields)
        end as missing_required_field_detail,

        case
            when owner_id_number_problem is not null
                then concat('owner_id_number fails GB 11643: ', owner_id_number_problem)
        end as invalid_id_number_detail,

        case
            when registered_on is null
                then concat('registered_on ', registered_on_text, ' is not a calendar date')
            when registered_on > snapshot_date
                then concat('registered_on ', registered_on_text, ' is after the snapshot date ', snapshot_date)
        end as impossible_date_detail,

        case
            when area_m2 is null or area_m2 <= 0
                then concat('area_m2 ', area_m2_text, ' is not a positive number')
        end as invalid_value_detail,

        case
            when not building_exists
                then concat(
                    'building_id ', building_id, ' is not a building of natural_resources/land_planning/buildings'
                )
        end as orphan_reference_detail

    from checked

),

rules_applied as (

    -- the surviving record of a double entry is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_record_detail('registration_id', partition_by='registration_no', other_rules=other_rules) }}
    from rule_details

),

validated as (

    select
        registration_id,
        registration_no,
        owner_id_number,
        owner_name,
        building_id,
        unit,
        area_m2_text,
        area_m2,
        registered_on_text,
        registered_on,
        updated_at,
        snapshot_date,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
