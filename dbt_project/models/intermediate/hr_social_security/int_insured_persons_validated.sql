{#-
    Every insured person record of the social insurance system as it stands, with the first rule it breaks.
    Rules, in precedence order:
      1. missing_required_field  id_number, name, start_date or status empty
      2. invalid_id_number       id_number fails GB 11643 (macro id_number_problem)
      3. impossible_date         start_date not a calendar date, or after the record's last update
      4. invalid_uscc            employer_uscc (when given) fails GB 32100 (macro uscc_problem)
      5. orphan_reference        employer_uscc is not a USCC of the business registry
                                 (stg_business_registry__enterprises)
      6. name_mismatch           the hukou (int_person_names_registered) knows id_number under another name: a name
                                 re-keyed with a same-sound character
      7. duplicate_record        an earlier record (lower insured_id) that passes rules 1-6 has the same
                                 id_number, employer_uscc and start_date: a double entry (a person insured
                                 again with another employer or from another day is a new record, not a copy)
    Values are standardised in staging (blanks, full-width characters, lower-case x). An ID number the hukou
    does not hold is no error: people insured in the city need not be registered in it. Details name the
    columns but not the PII values (the row carries them).
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = [
    'missing_required_field', 'invalid_id_number', 'impossible_date',
    'invalid_uscc', 'orphan_reference', 'name_mismatch'
] -%}

with

insured as (

    select * from {{ ref('stg_social_insurance__insured_persons') }}

),

registered_usccs as (

    select distinct {{ clean_code('uscc') }} as uscc
    from {{ ref('stg_business_registry__enterprises') }}
    where {{ clean_code('uscc') }} is not null

),

checked as (

    select
        insured.*,
        concat_ws(
            ', ',
            case when insured.id_number is null then 'id_number' end,
            case when insured.name is null then 'name' end,
            case when insured.start_date_text is null then 'start_date' end,
            case when nullif(trim(insured.status), '') is null then 'status' end
        ) as missing_fields,
        {{ id_number_problem('insured.id_number') }} as id_number_problem,
        {{ uscc_problem('insured.employer_uscc') }} as employer_uscc_problem,
        registered_usccs.uscc is not null as employer_registered,
        {{ hukou_name_differs('insured.id_number', 'insured.name') }} as name_differs

    from insured
    left join registered_usccs
        on insured.employer_uscc = registered_usccs.uscc

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
            when start_date is null
                then concat('start_date ', start_date_text, ' is not a calendar date')
            when start_date > cast(updated_at as date)
                then concat('start_date ', start_date_text, ' is after the record was last updated (', updated_at, ')')
        end as impossible_date_detail,

        case
            when employer_uscc is not null and employer_uscc_problem is not null
                then concat('employer_uscc ', employer_uscc, ' fails GB 32100: ', employer_uscc_problem)
        end as invalid_uscc_detail,

        case
            when employer_uscc is not null and not employer_registered
                then concat(
                    'employer_uscc ', employer_uscc,
                    ' is not in the business registry (stg_business_registry__enterprises)'
                )
        end as orphan_reference_detail,

        case
            when name_differs
                then 'name differs from the hukou name of id_number (int_person_names_registered)'
        end as name_mismatch_detail

    from checked

),

rules_applied as (

    -- the surviving record of a double entry is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_record_detail(
            'insured_id',
            partition_by="id_number, coalesce(employer_uscc, ''), start_date_text",
            other_rules=other_rules,
            same='id_number, employer_uscc and start_date'
        ) }}
    from rule_details

),

validated as (

    select
        insured_id,
        id_number_text,
        id_number,
        name,
        insurance_types,
        employer_uscc,
        start_date_text,
        start_date,
        status,
        updated_at,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
