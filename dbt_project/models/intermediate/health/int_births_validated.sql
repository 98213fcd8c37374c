{#-
    Every birth certificate row landed from the daily drops, with the first rule it breaks. Rules, in
    precedence order:
      1. missing_required_field  certificate_no, child_name, sex, birth_date, mother_name, mother_id_number,
                                 father_name, father_id_number or issued_on empty
      2. invalid_id_number       mother_id_number or father_id_number fails GB 11643 (macro id_number_problem)
      3. impossible_date         birth_date or issued_on not a calendar date, born after the certificate was
                                 issued, or issued after the day of the file that delivered it
      4. invalid_division_code   division_code fails GB/T 2260 (macro division_code_problem)
      5. invalid_value           sex not 男 or 女
      6. name_mismatch           the hukou (int_person_names_registered) knows the parent's ID number under another
                                 name: a name re-keyed with a same-sound or a traditional character
      7. duplicate_record        an earlier row (file, then row order) that passes rules 1-6 has the same
                                 certificate_no: a re-sent row
    Values are standardised in staging (blanks, full-width characters, lower-case x, date formats), so only
    what cannot be read is rejected. Details name the columns but not the PII values (the row carries them).
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = [
    'missing_required_field', 'invalid_id_number', 'impossible_date',
    'invalid_division_code', 'invalid_value', 'name_mismatch'
] -%}

with

births as (

    select * from {{ ref('stg_vital_records__births') }}

),

checked as (

    select
        births.*,
        -- the drop's day, from births_YYYYMMDD.csv: nothing in it can be issued later
        {{ parse_date_text("regexp_extract(births._source_file, '([0-9]{8})\\.csv$', 1)") }} as file_date,
        concat_ws(
            ', ',
            case when births.certificate_no is null then 'certificate_no' end,
            case when births.child_name is null then 'child_name' end,
            case when births.sex is null then 'sex' end,
            case when births.birth_date_text is null then 'birth_date' end,
            case when births.mother_name is null then 'mother_name' end,
            case when births.mother_id_number is null then 'mother_id_number' end,
            case when births.father_name is null then 'father_name' end,
            case when births.father_id_number is null then 'father_id_number' end,
            case when births.issued_on_text is null then 'issued_on' end
        ) as missing_fields,
        {{ id_number_problem('births.mother_id_number') }} as mother_id_number_problem,
        {{ id_number_problem('births.father_id_number') }} as father_id_number_problem,
        {{ division_code_problem('births.division_code') }} as division_code_problem,
        {{ hukou_name_differs('births.mother_id_number', 'births.mother_name') }} as mother_name_differs,
        {{ hukou_name_differs('births.father_id_number', 'births.father_name') }} as father_name_differs

    from births

),

rule_details as (

    select
        *,

        case
            when missing_fields != ''
                then concat('required field empty: ', missing_fields)
        end as missing_required_field_detail,

        case
            when mother_id_number_problem is not null
                then concat('mother_id_number fails GB 11643: ', mother_id_number_problem)
            when father_id_number_problem is not null
                then concat('father_id_number fails GB 11643: ', father_id_number_problem)
        end as invalid_id_number_detail,

        case
            when birth_date is null
                then concat('birth_date ', birth_date_text, ' is not a calendar date')
            when issued_on is null
                then concat('issued_on ', issued_on_text, ' is not a calendar date')
            when birth_date > issued_on
                then concat('birth_date ', birth_date, ' is after issued_on ', issued_on)
            when issued_on > file_date
                then concat('issued_on ', issued_on, ' is after the day of ', _source_file)
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
            when mother_name_differs
                then 'mother_name differs from the hukou name of mother_id_number (int_person_names_registered)'
            when father_name_differs
                then 'father_name differs from the hukou name of father_id_number (int_person_names_registered)'
        end as name_mismatch_detail

    from checked

),

rules_applied as (

    -- the surviving row of a re-sent certificate is the earliest one that passes every other rule
    select
        *,
        concat(_source_file, ':', _source_row) as record_key,
        {{ duplicate_row_detail('certificate_no', other_rules, same='certificate_no') }}
    from rule_details

),

validated as (

    select
        record_key,
        certificate_no,
        child_name,
        sex,
        birth_date_text,
        birth_date,
        birth_place,
        mother_name,
        mother_id_number_text,
        mother_id_number,
        father_name,
        father_id_number_text,
        father_id_number,
        division_code,
        issued_on_text,
        issued_on,
        _source_file,
        _source_row,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
