{#-
    Every registered change of name of the run, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  person_id, id_number, old_name, new_name or changed_on NULL or blank
      2. invalid_id_number       id_number fails GB 11643 (macro id_number_problem)
      3. impossible_date         changed_on not a calendar date, or after the snapshot date
      4. orphan_reference        person_id is not a person of hukou persons (nor one it has cancelled), or
                                 the person under that key holds another valid id_number
      5. duplicate_record        an earlier change (lower change_id) that passes rules 1-4 has the same person,
                                 names and date
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = ['missing_required_field', 'invalid_id_number', 'impossible_date', 'orphan_reference'] -%}

with

name_changes as (

    select * from {{ ref('stg_hukou__name_changes') }}

),

snapshot as (

    -- the snapshot date of the run: the date of its latest update
    select cast(max(updated_at) as date) as snapshot_date
    from name_changes

),

checked as (

    select
        name_changes.*,
        snapshot.snapshot_date,
        concat_ws(
            ', ',
            case when name_changes.person_id is null then 'person_id' end,
            case when name_changes.id_number is null then 'id_number' end,
            case when name_changes.old_name is null then 'old_name' end,
            case when name_changes.new_name is null then 'new_name' end,
            case when nullif(trim(name_changes.changed_on_text), '') is null then 'changed_on' end
        ) as missing_fields,
        {{ id_number_problem('name_changes.id_number') }} as id_number_problem,
        {{ hukou_person_reference_problem('name_changes') }} as person_reference_problem

    from name_changes
    cross join snapshot
    left join {{ ref('int_person_ids_registered') }} as registered on name_changes.person_id = registered.person_id

),

rule_details as (

    select
        *,
        person_reference_problem as orphan_reference_detail,

        case
            when missing_fields != ''
                then concat('required field empty: ', missing_fields)
        end as missing_required_field_detail,

        case
            when id_number_problem is not null
                then concat('id_number fails GB 11643: ', id_number_problem)
        end as invalid_id_number_detail,

        case
            when changed_on is null
                then concat('changed_on ', changed_on_text, ' is not a calendar date')
            when changed_on > snapshot_date
                then concat('changed_on ', changed_on_text, ' is after the snapshot date ', snapshot_date)
        end as impossible_date_detail

    from checked

),

rules_applied as (

    -- the surviving record of a double entry is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_record_detail(
            'change_id',
            partition_by='person_id, old_name, new_name, changed_on_text',
            other_rules=other_rules,
            same='person, names and date'
        ) }}
    from rule_details

),

validated as (

    select
        change_id,
        person_id,
        id_number,
        old_name,
        new_name,
        reason,
        changed_on_text,
        changed_on,
        updated_at,
        snapshot_date,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
