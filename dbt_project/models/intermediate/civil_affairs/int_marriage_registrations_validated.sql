{#-
    Every marriage registration (a marriage or a divorce) of the run, with the first rule it breaks.
    Rules, in precedence order:
      1. missing_required_field  certificate_no, registration_type, a spouse's ID number or name, registered_on,
                                 registry_office, or a divorce's marriage_certificate_no NULL or blank
      2. invalid_id_number       husband_id_number or wife_id_number fails GB 11643 (macro id_number_problem)
      3. impossible_date         registered_on not a calendar date, or after the snapshot date
      4. invalid_value           registration_type neither 结婚 (marriage) nor 离婚 (divorce)
      5. orphan_reference        a divorce's marriage_certificate_no is not the certificate of a marriage here
      6. name_mismatch           the hukou knows a spouse's ID number, but not under that name: a name
                                 re-keyed with a same-sound character (macro hukou_name_differs)
      7. duplicate_record        an earlier registration (lower registration_id) that passes rules 1-6 has the
                                 same certificate_no (a certificate is issued once)
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = [
    'missing_required_field', 'invalid_id_number', 'impossible_date',
    'invalid_value', 'orphan_reference', 'name_mismatch'
] -%}

with

registrations as (

    select * from {{ ref('stg_civil_registry__marriage_registrations') }}

),

marriage_certificates as (

    select distinct certificate_no
    from registrations
    where registration_type = '结婚'

),

snapshot as (

    -- the snapshot date of the run: the date of its latest update
    select cast(max(updated_at) as date) as snapshot_date
    from registrations

),

checked as (

    select
        registrations.*,
        snapshot.snapshot_date,
        concat_ws(
            ', ',
            case when registrations.certificate_no is null then 'certificate_no' end,
            case when registrations.registration_type is null then 'registration_type' end,
            case
                when registrations.registration_type = '离婚' and registrations.marriage_certificate_no is null
                    then 'marriage_certificate_no'
            end,
            case when registrations.husband_id_number is null then 'husband_id_number' end,
            case when registrations.husband_name is null then 'husband_name' end,
            case when registrations.wife_id_number is null then 'wife_id_number' end,
            case when registrations.wife_name is null then 'wife_name' end,
            case when nullif(trim(registrations.registered_on_text), '') is null then 'registered_on' end,
            case when registrations.registry_office is null then 'registry_office' end
        ) as missing_fields,
        {{ id_number_problem('registrations.husband_id_number') }} as husband_id_number_problem,
        {{ id_number_problem('registrations.wife_id_number') }} as wife_id_number_problem,
        marriage_certificates.certificate_no is not null as marriage_exists,
        {{ hukou_name_differs('registrations.husband_id_number', 'registrations.husband_name') }}
            as husband_name_differs,
        {{ hukou_name_differs('registrations.wife_id_number', 'registrations.wife_name') }} as wife_name_differs

    from registrations
    cross join snapshot
    left join marriage_certificates
        on registrations.marriage_certificate_no = marriage_certificates.certificate_no

),

rule_details as (

    select
        *,

        case
            when missing_fields != ''
                then concat('required field empty: ', missing_fields)
        end as missing_required_field_detail,

        case
            when husband_id_number_problem is not null
                then concat('husband_id_number fails GB 11643: ', husband_id_number_problem)
            when wife_id_number_problem is not null
                then concat('wife_id_number fails GB 11643: ', wife_id_number_problem)
        end as invalid_id_number_detail,

        case
            when registered_on is null
                then concat('registered_on ', registered_on_text, ' is not a calendar date')
            when registered_on > snapshot_date
                then concat('registered_on ', registered_on_text, ' is after the snapshot date ', snapshot_date)
        end as impossible_date_detail,

        case
            when registration_type not in ('结婚', '离婚')
                then concat('registration_type ', registration_type, ' is neither 结婚 nor 离婚')
        end as invalid_value_detail,

        case
            when registration_type = '离婚' and not marriage_exists
                then concat(
                    'marriage_certificate_no ', marriage_certificate_no,
                    ' is not a marriage of civil_affairs/civil_registry/marriage_registrations'
                )
        end as orphan_reference_detail,

        -- the detail names the columns, not the names: it is free text, untagged, and must carry no PII
        case
            when husband_name_differs
                then 'husband_name differs from the hukou name of husband_id_number (int_person_names_registered)'
            when wife_name_differs
                then 'wife_name differs from the hukou name of wife_id_number (int_person_names_registered)'
        end as name_mismatch_detail

    from checked

),

rules_applied as (

    -- the surviving record of a double entry is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_record_detail('registration_id', partition_by='certificate_no', other_rules=other_rules) }}
    from rule_details

),

validated as (

    select
        registration_id,
        certificate_no,
        registration_type,
        marriage_certificate_no,
        husband_id_number,
        husband_name,
        wife_id_number,
        wife_name,
        registered_on_text,
        registered_on,
        registry_office,
        updated_at,
        snapshot_date,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
