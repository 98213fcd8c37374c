{#-
    Every standard address of the run, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  standard_address or division_code NULL or blank
      2. invalid_division_code   division_code fails GB/T 2260 (macro division_code_problem), obsolete codes
                                 included: the library names today's divisions (邙山区 410107 is 惠济区 410108)
      3. duplicate_record        an earlier address (lower address_id) that passes rules 1-2 has the same
                                 standard_address
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = ['missing_required_field', 'invalid_division_code'] -%}

with

addresses as (

    select * from {{ ref('stg_civil_registry__standard_addresses') }}

),

checked as (

    select
        *,
        concat_ws(
            ', ',
            case when standard_address is null then 'standard_address' end,
            case when division_code is null then 'division_code' end
        ) as missing_fields,
        {{ division_code_problem('division_code') }} as division_code_problem

    from addresses

),

rule_details as (

    select
        *,

        case
            when missing_fields != ''
                then concat('required field empty: ', missing_fields)
        end as missing_required_field_detail,

        case
            when division_code_problem is not null
                then concat('division_code ', division_code, ' fails GB/T 2260: ', division_code_problem)
        end as invalid_division_code_detail

    from checked

),

rules_applied as (

    -- the surviving record of an address entered twice is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_record_detail('address_id', partition_by='standard_address', other_rules=other_rules) }}
    from rule_details

),

validated as (

    select
        address_id,
        standard_address,
        division_code,
        street,
        road,
        house_number,
        building,
        longitude,
        latitude,
        updated_at,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
