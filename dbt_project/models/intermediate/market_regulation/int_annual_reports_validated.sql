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

screened as (

    select
        *,
        coalesce(
            missing_required_field_detail,
            invalid_uscc_detail,
            impossible_date_detail,
            orphan_reference_detail
        ) is null as passes_other_rules
    from rule_details

),

deduplicated as (

    -- the surviving report of an entity's year is the earliest one that passes every other rule
    select
        *,
        min(case when passes_other_rules then report_id end) over (partition by uscc, report_year) as first_report_id
    from screened

),

rules_applied as (

    select
        *,
        case
            when report_id > first_report_id
                then concat('duplicate of report_id ', first_report_id, ' (same uscc and report_year)')
        end as duplicate_record_detail
    from deduplicated

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

        case
            when missing_required_field_detail is not null then 'missing_required_field'
            when invalid_uscc_detail is not null then 'invalid_uscc'
            when impossible_date_detail is not null then 'impossible_date'
            when orphan_reference_detail is not null then 'orphan_reference'
            when duplicate_record_detail is not null then 'duplicate_record'
        end as rejection_reason,

        coalesce(
            missing_required_field_detail,
            invalid_uscc_detail,
            impossible_date_detail,
            orphan_reference_detail,
            duplicate_record_detail
        ) as rejection_detail

    from rules_applied

)

select * from validated
