{#-
    Every death record row landed from the daily drops, with the first rule it breaks. Rules, in
    precedence order:
      1. missing_required_field  record_no, name, sex, id_number, death_date or reported_on empty
      2. invalid_id_number       id_number fails GB 11643 (macro id_number_problem)
      3. impossible_date         death_date or reported_on not a calendar date, died before the birth date in
                                 id_number or after the report, or reported after the day of the file
      4. invalid_division_code   division_code fails GB/T 2260 (macro division_code_problem)
      5. invalid_value           sex not 男 or 女
      6. name_mismatch           the hukou (int_person_names_registered) knows id_number under another name: a name
                                 re-keyed with a same-sound or a traditional character
      7. duplicate_record        an earlier row (file, then row order) that passes rules 1-6 has the same
                                 record_no: a re-sent row
    The deceased need not be in the hukou (a death cancels the registration), so only a known ID number is
    checked against its name. Values are standardised in staging (blanks, full-width characters, lower-case x,
    date formats). Details name the columns but not the PII values (the row carries them).
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = [
    'missing_required_field', 'invalid_id_number', 'impossible_date',
    'invalid_division_code', 'invalid_value', 'name_mismatch'
] -%}

with

deaths as (

    select * from {{ ref('stg_vital_records__deaths') }}

),

checked as (

    select
        deaths.*,
        -- the drop's day, from deaths_YYYYMMDD.csv: nothing in it can be reported later
        {{ parse_date_text("regexp_extract(deaths._source_file, '([0-9]{8})\\.csv$', 1)") }} as file_date,
        concat_ws(
            ', ',
            case when deaths.record_no is null then 'record_no' end,
            case when deaths.name is null then 'name' end,
            case when deaths.sex is null then 'sex' end,
            case when deaths.id_number is null then 'id_number' end,
            case when deaths.death_date_text is null then 'death_date' end,
            case when deaths.reported_on_text is null then 'reported_on' end
        ) as missing_fields,
        {{ id_number_problem('deaths.id_number') }} as id_number_problem,
        {{ division_code_problem('deaths.division_code') }} as division_code_problem,
        {{ hukou_name_differs('deaths.id_number', 'deaths.name') }} as name_differs

    from deaths

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
            when death_date is null
                then concat('death_date ', death_date_text, ' is not a calendar date')
            when reported_on is null
                then concat('reported_on ', reported_on_text, ' is not a calendar date')
            when death_date > reported_on
                then concat('death_date ', death_date, ' is after reported_on ', reported_on)
            when replace(cast(death_date as varchar), '-', '') < substr(id_number, 7, 8)
                then concat('death_date ', death_date, ' is before the birth date in id_number')
            when reported_on > file_date
                then concat('reported_on ', reported_on, ' is after the day of ', _source_file)
        end as impossible_date_detail,

        case
            when division_code_problem is not null
                then concat('division_code ', division_code, ' fails GB/T 2260: ', division_code_problem)
        end as invalid_division_code_detail,

        case
            when sex not in ('男', '女')
                then concat('sex ', sex, ' is not 男 or 女')
        end as invalid_value_detail,

        case
            when name_differs
                then 'name differs from the hukou name of id_number (int_person_names_registered)'
        end as name_mismatch_detail

    from checked

),

rules_applied as (

    -- the surviving row of a re-sent record is the earliest one that passes every other rule
    select
        *,
        concat(_source_file, ':', _source_row) as record_key,
        {{ duplicate_row_detail('record_no', other_rules, same='record_no') }}
    from rule_details

),

validated as (

    select
        record_key,
        record_no,
        name,
        sex,
        id_number_text,
        id_number,
        death_date_text,
        death_date,
        cause,
        division_code,
        reported_on_text,
        reported_on,
        _source_file,
        _source_row,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
