{#-
    Every enterprise record of the run, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  uscc, name or legal_rep_id_number NULL or blank
      2. invalid_uscc            uscc fails GB 32100 (macro uscc_problem)
      3. invalid_id_number       legal_rep_id_number fails GB 11643 (macro id_number_problem)
      4. impossible_date         established_on (when given) not a calendar date, or after the snapshot date
      5. invalid_division_code   division_code fails GB/T 2260 (macro division_code_problem)
      6. duplicate_record        an earlier record (lower enterprise_id) that passes rules 1-5 has the same uscc
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = [
    'missing_required_field', 'invalid_uscc', 'invalid_id_number',
    'impossible_date', 'invalid_division_code'
] -%}

with

enterprises as (

    select * from {{ ref('stg_business_registry__enterprises') }}

),

snapshot as (

    -- the snapshot date of the run: the date of its latest update
    select cast(max(updated_at) as date) as snapshot_date
    from enterprises

),

checked as (

    select
        enterprises.*,
        snapshot.snapshot_date,
        concat_ws(
            ', ',
            case when nullif(trim(enterprises.uscc), '') is null then 'uscc' end,
            case when nullif(trim(enterprises.name), '') is null then 'name' end,
            case when nullif(trim(enterprises.legal_rep_id_number), '') is null then 'legal_rep_id_number' end
        ) as missing_fields,
        {{ uscc_problem('enterprises.uscc') }} as uscc_problem,
        {{ id_number_problem('enterprises.legal_rep_id_number') }} as legal_rep_id_number_problem,
        {{ division_code_problem('enterprises.division_code') }} as division_code_problem

    from enterprises
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
            when uscc_problem is not null
                then concat('uscc ', uscc, ' fails GB 32100: ', uscc_problem)
        end as invalid_uscc_detail,

        case
            when legal_rep_id_number_problem is not null
                then concat('legal_rep_id_number fails GB 11643: ', legal_rep_id_number_problem)
        end as invalid_id_number_detail,

        case
            when established_on_text is not null and established_on is null
                then concat('established_on ', established_on_text, ' is not a calendar date (YYYY-MM-DD)')
            when established_on > snapshot_date
                then concat('established_on ', established_on_text, ' is after the snapshot date ', snapshot_date)
        end as impossible_date_detail,

        case
            when division_code_problem is not null
                then concat('division_code ', division_code, ' fails GB/T 2260: ', division_code_problem)
        end as invalid_division_code_detail

    from checked

),

rules_applied as (

    -- the surviving record of a duplicated uscc is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_record_detail('enterprise_id', partition_by='uscc', other_rules=other_rules) }}
    from rule_details

),

validated as (

    select
        enterprise_id,
        uscc,
        name,
        entity_type,
        status,
        division_code,
        address,
        legal_rep_id_number,
        legal_rep_name,
        registered_capital,
        established_on_text,
        established_on,
        updated_at,
        snapshot_date,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
