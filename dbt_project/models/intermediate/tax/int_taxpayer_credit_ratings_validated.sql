{#-
    Every row of every monthly credit-rating workbook, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  uscc, taxpayer_name, rating, rating_year or assessed_on NULL or blank
      2. invalid_uscc            uscc (standardised) fails GB 32100 (macro uscc_problem)
      3. invalid_value           rating not one of A, B, M, C, D, or rating_year not a whole number
      4. impossible_date         assessed_on not a calendar date, or after the workbook's month
      5. duplicate_record        an earlier row of the same workbook (lower _source_row) that passes rules 1-4
                                 rates the same uscc
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = ['missing_required_field', 'invalid_uscc', 'invalid_value', 'impossible_date'] -%}

with

ratings as (

    select * from {{ ref('stg_credit_ratings__taxpayer_credit_ratings') }}

),

checked as (

    select
        *,
        {{ text_to_date("concat(substr(rating_month, 1, 4), '-', substr(rating_month, 5, 2), '-01')") }}
            as month_start,
        concat_ws(
            ', ',
            case when uscc is null then 'uscc' end,
            case when taxpayer_name is null then 'taxpayer_name' end,
            case when rating is null then 'rating' end,
            case when nullif(trim(rating_year_text), '') is null then 'rating_year' end,
            case when nullif(trim(assessed_on_text), '') is null then 'assessed_on' end
        ) as missing_fields,
        {{ uscc_problem('uscc') }} as uscc_problem

    from ratings

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
            when rating not in ('A', 'B', 'M', 'C', 'D')
                then concat('rating ', rating_text, ' is not one of A, B, M, C, D')
            when rating_year is null
                then concat('rating_year ', rating_year_text, ' is not a year')
        end as invalid_value_detail,

        case
            when assessed_on is null
                then concat('assessed_on ', assessed_on_text, ' is not a calendar date')
            when assessed_on >= month_start + interval '1 month'
                then concat('assessed_on ', assessed_on_text, ' is after the workbook''s month ', rating_month)
        end as impossible_date_detail

    from checked

),

screened as (

    select
        *,
        {{ passes_rules(other_rules) }} as passes_other_rules
    from rule_details

),

deduplicated as (

    -- the surviving row of a taxpayer rated twice in a workbook is the earliest one that passes every other rule
    select
        *,
        min(case when passes_other_rules then _source_row end) over (partition by _source_file, uscc) as first_row
    from screened

),

rules_applied as (

    select
        *,
        case
            when _source_row > first_row
                then concat('duplicate of row ', first_row, ' of ', _source_file, ' (same uscc)')
        end as duplicate_record_detail
    from deduplicated

),

validated as (

    select
        _source_file,
        _source_row,
        serial_no,
        uscc_text,
        uscc,
        taxpayer_name,
        rating_text,
        rating,
        rating_year,
        rating_month,
        assessed_on_text,
        assessed_on,
        tax_office,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
