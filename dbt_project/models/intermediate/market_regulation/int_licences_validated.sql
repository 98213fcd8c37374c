{#-
    Every licence of the run, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  uscc, licence_type, licence_no, valid_from or valid_to NULL or blank
      2. invalid_uscc            uscc fails GB 32100 (macro uscc_problem)
      3. impossible_date         valid_from or valid_to not a calendar date, valid_to before valid_from,
                                 or valid_from after the snapshot date
      4. orphan_reference        no entity of the business registry (stg_business_registry__enterprises) holds uscc
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set rules = ['missing_required_field', 'invalid_uscc', 'impossible_date', 'orphan_reference'] -%}

with

licences as (

    select * from {{ ref('stg_business_registry__licences') }}

),

registered as (

    select distinct uscc
    from {{ ref('stg_business_registry__enterprises') }}
    where uscc is not null

),

snapshot as (

    -- the snapshot date of the run: the date of its latest update
    select cast(max(updated_at) as date) as snapshot_date
    from licences

),

checked as (

    select
        licences.*,
        snapshot.snapshot_date,
        registered.uscc is not null as uscc_registered,
        concat_ws(
            ', ',
            case when nullif(trim(licences.uscc), '') is null then 'uscc' end,
            case when licences.licence_type is null then 'licence_type' end,
            case when licences.licence_no is null then 'licence_no' end,
            case when nullif(trim(licences.valid_from_text), '') is null then 'valid_from' end,
            case when nullif(trim(licences.valid_to_text), '') is null then 'valid_to' end
        ) as missing_fields,
        {{ uscc_problem('licences.uscc') }} as uscc_problem

    from licences
    cross join snapshot
    left join registered
        on licences.uscc = registered.uscc

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
            when valid_from is null
                then concat('valid_from ', valid_from_text, ' is not a calendar date')
            when valid_to is null
                then concat('valid_to ', valid_to_text, ' is not a calendar date')
            when valid_to < valid_from
                then concat('valid_to ', valid_to_text, ' is before valid_from ', valid_from_text)
            when valid_from > snapshot_date
                then concat('valid_from ', valid_from_text, ' is after the snapshot date ', snapshot_date)
        end as impossible_date_detail,

        case
            when not uscc_registered
                then concat('uscc ', uscc, ' is not registered in market_regulation/business_registry/enterprises')
        end as orphan_reference_detail

    from checked

),

validated as (

    select
        licence_id,
        uscc,
        licence_type,
        licence_no,
        issued_by,
        valid_from_text,
        valid_from,
        valid_to_text,
        valid_to,
        updated_at,
        snapshot_date,
        _loaded_from,

        {{ rejection(rules) }}

    from rule_details

)

select * from validated
