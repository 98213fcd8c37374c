{#-
    Every case of the dishonest-debtor list, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  case_number, debtor_type, name or filed_on NULL or blank; a person
                                 debtor (自然人) without id_number, an entity debtor without uscc
      2. invalid_id_number       a person debtor's id_number fails GB 11643 (macro id_number_problem)
      3. invalid_uscc            an entity debtor's uscc fails GB 32100 (macro uscc_problem)
      4. impossible_date         filed_on not a calendar date, or after the snapshot date
      5. orphan_reference        an entity debtor's uscc is held by no entity of the business registry
                                 (stg_business_registry__enterprises)
      6. name_mismatch           the household registration holds the person debtor's id_number, but not
                                 under this name: the list re-keyed it with a typo (macro hukou_name_differs)
      7. duplicate_record        an earlier case (lower case_id) that passes rules 1-6 has the same case_number
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection. Details name the
    offending column but not a person's ID number or name (they are PII).
-#}

{%- set other_rules = [
    'missing_required_field', 'invalid_id_number', 'invalid_uscc',
    'impossible_date', 'orphan_reference', 'name_mismatch'
] -%}

{%- set person = "'自然人'" -%}
{%- set entity = "'法人或非法人组织'" %}

with

debtors as (

    select * from {{ ref('stg_dishonest_debtors__dishonest_debtors') }}

),

registered as (

    select distinct uscc
    from {{ ref('stg_business_registry__enterprises') }}
    where uscc is not null

),

snapshot as (

    -- the snapshot date of the run: the date of its latest update
    select cast(max(updated_at) as date) as snapshot_date
    from debtors

),

checked as (

    select
        debtors.*,
        snapshot.snapshot_date,
        registered.uscc is not null as uscc_registered,
        debtors.debtor_type = {{ person }}
        and {{ hukou_name_differs('debtors.id_number', 'debtors.name') }} as name_differs,
        concat_ws(
            ', ',
            case when debtors.case_number is null then 'case_number' end,
            case when debtors.debtor_type is null then 'debtor_type' end,
            case when debtors.name is null then 'name' end,
            case when debtors.debtor_type = {{ person }} and debtors.id_number is null then 'id_number' end,
            case when debtors.debtor_type = {{ entity }} and debtors.uscc is null then 'uscc' end,
            case when nullif(trim(debtors.filed_on_text), '') is null then 'filed_on' end
        ) as missing_fields,
        {{ id_number_problem('debtors.id_number') }} as id_number_problem,
        {{ uscc_problem('debtors.uscc') }} as uscc_problem

    from debtors
    cross join snapshot
    left join registered
        on debtors.uscc = registered.uscc

),

rule_details as (

    select
        *,

        case
            when missing_fields != ''
                then concat('required field empty: ', missing_fields)
        end as missing_required_field_detail,

        case
            when debtor_type = {{ person }} and id_number_problem is not null
                then concat('id_number fails GB 11643: ', id_number_problem)
        end as invalid_id_number_detail,

        case
            when debtor_type = {{ entity }} and uscc_problem is not null
                then concat('uscc ', uscc, ' fails GB 32100: ', uscc_problem)
        end as invalid_uscc_detail,

        case
            when filed_on is null
                then concat('filed_on ', filed_on_text, ' is not a calendar date')
            when filed_on > snapshot_date
                then concat('filed_on ', filed_on_text, ' is after the snapshot date ', snapshot_date)
        end as impossible_date_detail,

        case
            when debtor_type = {{ entity }} and not uscc_registered
                then concat('uscc ', uscc, ' is not registered in market_regulation/business_registry/enterprises')
        end as orphan_reference_detail,

        case
            when name_differs
                then 'name differs from the name public_security/hukou/persons registers for the id_number'
        end as name_mismatch_detail

    from checked

),

rules_applied as (

    -- the surviving case of a duplicated case_number is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_record_detail('case_id', partition_by='case_number', other_rules=other_rules) }}
    from rule_details

),

validated as (

    select
        case_id,
        case_number,
        debtor_type,
        name,
        id_number_text,
        id_number,
        uscc_text,
        uscc,
        legal_rep_name,
        court,
        filed_on_text,
        filed_on,
        obligation,
        performance_status,
        dishonest_conduct,
        published_at,
        updated_at,
        snapshot_date,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
