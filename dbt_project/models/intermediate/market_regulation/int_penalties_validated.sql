{#-
    Every penalty decision of the run, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  uscc, decision_no, violation, fine_amount or decided_on NULL or blank
      2. invalid_uscc            uscc fails GB 32100 (macro uscc_problem)
      3. impossible_date         decided_on not a calendar date, or after the snapshot date
      4. invalid_value           fine_amount not positive
      5. orphan_reference        no entity of the business registry (stg_business_registry__enterprises) holds uscc
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set rules = ['missing_required_field', 'invalid_uscc', 'impossible_date', 'invalid_value', 'orphan_reference'] -%}

with

penalties as (

    select * from {{ ref('stg_business_registry__penalties') }}

),

registered as (

    select distinct uscc
    from {{ ref('stg_business_registry__enterprises') }}
    where uscc is not null

),

snapshot as (

    -- the snapshot date of the run: the date of its latest update
    select cast(max(updated_at) as date) as snapshot_date
    from penalties

),

checked as (

    select
        penalties.*,
        snapshot.snapshot_date,
        registered.uscc is not null as uscc_registered,
        concat_ws(
            ', ',
            case when nullif(trim(penalties.uscc), '') is null then 'uscc' end,
            case when penalties.decision_no is null then 'decision_no' end,
            case when penalties.violation is null then 'violation' end,
            case when penalties.fine_amount is null then 'fine_amount' end,
            case when nullif(trim(penalties.decided_on_text), '') is null then 'decided_on' end
        ) as missing_fields,
        {{ uscc_problem('penalties.uscc') }} as uscc_problem

    from penalties
    cross join snapshot
    left join registered
        on penalties.uscc = registered.uscc

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
            when decided_on is null
                then concat('decided_on ', decided_on_text, ' is not a calendar date')
            when decided_on > snapshot_date
                then concat('decided_on ', decided_on_text, ' is after the snapshot date ', snapshot_date)
        end as impossible_date_detail,

        case
            when fine_amount <= 0
                then concat('fine_amount ', fine_amount, ' is not a positive amount')
        end as invalid_value_detail,

        case
            when not uscc_registered
                then concat('uscc ', uscc, ' is not registered in market_regulation/business_registry/enterprises')
        end as orphan_reference_detail

    from checked

),

validated as (

    select
        penalty_id,
        uscc,
        decision_no,
        violation,
        fine_amount,
        decided_on_text,
        decided_on,
        updated_at,
        snapshot_date,
        _loaded_from,

        {{ rejection(rules) }}

    from rule_details

)

select * from validated
