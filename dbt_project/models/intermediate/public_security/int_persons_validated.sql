{#-
    Every person record of the run, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  id_number, name, sex or birth_date NULL or blank
      2. invalid_id_number       id_number fails GB 11643 (macro id_number_problem)
      3. impossible_date         birth_date not a calendar date, or after the snapshot date
      4. invalid_division_code   division_code fails GB/T 2260 (macro division_code_problem)
      5. birth_date_mismatch     birth_date differs from the birth date inside id_number
      6. duplicate_record        an earlier record (lower person_id) that passes rules 1-5 has the same id_number
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = [
    'missing_required_field', 'invalid_id_number', 'impossible_date',
    'invalid_division_code', 'birth_date_mismatch'
] -%}

with

persons as (

    select * from {{ ref('stg_hukou__persons') }}

),

snapshot as (

    -- the snapshot date of the run: the date of its latest update
    select cast(max(updated_at) as date) as snapshot_date
    from persons

),

checked as (

    select
        persons.*,
        snapshot.snapshot_date,
        concat_ws(
            ', ',
            case when nullif(trim(persons.id_number), '') is null then 'id_number' end,
            case when nullif(trim(persons.name), '') is null then 'name' end,
            case when nullif(trim(persons.sex), '') is null then 'sex' end,
            case when nullif(trim(persons.birth_date_text), '') is null then 'birth_date' end
        ) as missing_fields,
        {{ id_number_problem('persons.id_number') }} as id_number_problem,
        {{ division_code_problem('persons.division_code') }} as division_code_problem

    from persons
    cross join snapshot

),

rule_details as (

    select
        *,

        case
            when missing_fields != ''
                then concat('required field empty: ', missing_fields)
        end as missing_required_field_detail,

        case
            when id_number_problem is not null
                then concat('id_number fails GB 11643: ', id_number_problem)
        end as invalid_id_number_detail,

        case
            when birth_date is null
                then concat('birth_date ', birth_date_text, ' is not a calendar date (YYYY-MM-DD)')
            when birth_date > snapshot_date
                then concat('birth_date ', birth_date_text, ' is after the snapshot date ', snapshot_date)
        end as impossible_date_detail,

        case
            when division_code_problem is not null
                then concat('division_code ', division_code, ' fails GB/T 2260: ', division_code_problem)
        end as invalid_division_code_detail,

        case
            when replace(birth_date_text, '-', '') != substr(id_number, 7, 8)
                then concat(
                    'birth_date ', birth_date_text,
                    ' differs from the birth date ', substr(id_number, 7, 8), ' in id_number'
                )
        end as birth_date_mismatch_detail

    from checked

),

rules_applied as (

    -- the surviving record of a duplicated id_number is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_record_detail('person_id', partition_by='id_number', other_rules=other_rules) }}
    from rule_details

),

validated as (

    select
        person_id,
        id_number,
        household_id,
        name,
        sex,
        ethnicity,
        division_code,
        address,
        birth_date_text,
        birth_date,
        registered_at,
        updated_at,
        snapshot_date,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
