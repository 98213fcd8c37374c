{#-
    Every annual report of the run, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  uscc, report_year, revenue_band or submitted_on NULL or blank
      2. invalid_uscc            uscc fails GB 32100 (macro uscc_problem)
      3. impossible_date         submitted_on not a calendar date, before the reported year is over,
                                 or after the snapshot date
      4. orphan_reference        no entity of the business registry (stg_business_registry__enterprises) holds uscc
      5. duplicate_record        an earlier report (lower report_id) that passes rules 1-4 is for the same
                                 uscc and report_year
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = ['missing_required_field', 'invalid_uscc', 'impossible_date', 'orphan_reference'] -%}

with

reports as (

    select * from {{ ref('stg_business_registry__annual_reports') }}

),

registered as (

    select distinct uscc
    from {{ ref('stg_business_registry__enterprises') }}
    where uscc is not null

),

snapshot as (

    -- the snapshot date of the run: the date of its latest update
    select cast(max(updated_at) as date) as snapshot_date
    from reports

),

checked as (

    select
        reports.*,
        snapshot.snapshot_date,
        registered.uscc is not null as uscc_registered,
        concat_ws(
            ', ',
            case when nullif(trim(reports.uscc), '') is null then 'uscc' end,
            case when reports.report_year is null then 'report_year' end,
            case when reports.revenue_band is null then 'revenue_band' end,
            case when nullif(trim(reports.submitted_on_text), '') is null then 'submitted_on' end
        ) as missing_fields,
        {{ uscc_problem('reports.uscc') }} as uscc_problem

    from reports
    cross join snapshot
    left join registered
        on reports.uscc = registered.uscc

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
            when submitted_on is null
                then concat('submitted_on ', submitted_on_text, ' is not a calendar date')
            when extract(year from submitted_on) <= report_year
                then concat('submitted_on ', submitted_on_text, ' is before report_year ', report_year, ' ended')
            when submitted_on > snapshot_date
                then concat('submitted_on ', submitted_on_text, ' is after the snapshot date ', snapshot_date)
        end as impossible_date_detail,

        case
            when not uscc_registered
                then concat('uscc ', uscc, ' is not registered in market_regulation/business_registry/enterprises')
        end as orphan_reference_detail

    from checked

),

rules_applied as (

    -- the surviving report of an entity's year is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_record_detail(
            'report_id',
            partition_by='uscc, report_year',
            other_rules=other_rules,
            same='uscc and report_year'
        ) }}
    from rule_details

),

validated as (

    select
        report_id,
        uscc,
        report_year,
        employees,
        revenue_band,
        submitted_on_text,
        submitted_on,
        updated_at,
        snapshot_date,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
