{#-
    Every arrears record of the social insurance system as it stands (settled ones are deleted), with the
    first rule it breaks. Rules, in precedence order:
      1. missing_required_field  employer_uscc, months_owed, amount or since empty
      2. invalid_uscc            employer_uscc fails GB 32100 (macro uscc_problem)
      3. impossible_date         since not a calendar date, or after the record's last update
      4. invalid_value           months_owed below 1 or amount below 0
      5. orphan_reference        employer_uscc is not a USCC of the business registry
                                 (stg_business_registry__enterprises)
      6. duplicate_record        an earlier record (lower arrears_id) that passes rules 1-5 has the same
                                 employer_uscc and since: a double entry
    employer_uscc is standardised in staging (blanks, full-width characters, lower case).
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = [
    'missing_required_field', 'invalid_uscc', 'impossible_date',
    'invalid_value', 'orphan_reference'
] -%}

with

arrears as (

    select * from {{ ref('stg_social_insurance__arrears') }}

),

registered_usccs as (

    select distinct {{ clean_code('uscc') }} as uscc
    from {{ ref('stg_business_registry__enterprises') }}
    where {{ clean_code('uscc') }} is not null

),

checked as (

    select
        arrears.*,
        concat_ws(
            ', ',
            case when arrears.employer_uscc is null then 'employer_uscc' end,
            case when arrears.months_owed is null then 'months_owed' end,
            case when arrears.amount is null then 'amount' end,
            case when arrears.since_text is null then 'since' end
        ) as missing_fields,
        {{ uscc_problem('arrears.employer_uscc') }} as employer_uscc_problem,
        registered_usccs.uscc is not null as employer_registered

    from arrears
    left join registered_usccs
        on arrears.employer_uscc = registered_usccs.uscc

),

rule_details as (

    select
        *,

        case
            when missing_fields != ''
                then concat('required field empty: ', missing_fields)
        end as missing_required_field_detail,

        case
            when employer_uscc_problem is not null
                then concat('employer_uscc ', employer_uscc, ' fails GB 32100: ', employer_uscc_problem)
        end as invalid_uscc_detail,

        case
            when since is null
                then concat('since ', since_text, ' is not a calendar date')
            when since > cast(updated_at as date)
                then concat('since ', since_text, ' is after the record was last updated (', updated_at, ')')
        end as impossible_date_detail,

        case
            when months_owed < 1
                then concat('months_owed ', months_owed, ' is below 1')
            when amount < 0
                then concat('amount ', amount, ' is negative')
        end as invalid_value_detail,

        case
            when not employer_registered
                then concat(
                    'employer_uscc ', employer_uscc,
                    ' is not in the business registry (stg_business_registry__enterprises)'
                )
        end as orphan_reference_detail

    from checked

),

rules_applied as (

    -- the surviving record of a double entry is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_record_detail(
            'arrears_id',
            partition_by='employer_uscc, since_text',
            other_rules=other_rules,
            same='employer_uscc and since'
        ) }}
    from rule_details

),

validated as (

    select
        arrears_id,
        employer_uscc_text,
        employer_uscc,
        months_owed,
        amount,
        since_text,
        since,
        updated_at,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
