{#-
    Every hukou move of the run, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  person_id, id_number, a division code, an address or moved_on NULL or blank
      2. invalid_id_number       id_number fails GB 11643 (macro id_number_problem)
      3. impossible_date         moved_on not a calendar date, or after the snapshot date
      4. invalid_division_code   from_division_code or to_division_code fails GB/T 2260 (obsolete codes
                                 allowed: a move before 2003 left 邙山区 410107)
      5. orphan_reference        person_id is not a person of hukou persons (nor one it has cancelled), or
                                 the person under that key holds another valid id_number
      6. duplicate_record        an earlier move (lower move_id) that passes rules 1-5 has the same person,
                                 id_number, divisions, addresses and date
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = [
    'missing_required_field', 'invalid_id_number', 'impossible_date',
    'invalid_division_code', 'orphan_reference'
] -%}

with

moves as (

    select * from {{ ref('stg_hukou__moves') }}

),

snapshot as (

    -- the snapshot date of the run: the date of its latest update
    select cast(max(updated_at) as date) as snapshot_date
    from moves

),

checked as (

    select
        moves.*,
        snapshot.snapshot_date,
        concat_ws(
            ', ',
            case when moves.person_id is null then 'person_id' end,
            case when moves.id_number is null then 'id_number' end,
            case when moves.from_division_code is null then 'from_division_code' end,
            case when moves.from_address is null then 'from_address' end,
            case when moves.to_division_code is null then 'to_division_code' end,
            case when moves.to_address is null then 'to_address' end,
            case when nullif(trim(moves.moved_on_text), '') is null then 'moved_on' end
        ) as missing_fields,
        {{ id_number_problem('moves.id_number') }} as id_number_problem,
        {{ division_code_problem('moves.from_division_code', allow_obsolete=true) }} as from_division_code_problem,
        {{ division_code_problem('moves.to_division_code', allow_obsolete=true) }} as to_division_code_problem,
        {{ hukou_person_reference_problem('moves') }} as person_reference_problem

    from moves
    cross join snapshot
    left join {{ ref('int_person_ids_registered') }} as registered on moves.person_id = registered.person_id

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
            when moved_on is null
                then concat('moved_on ', moved_on_text, ' is not a calendar date')
            when moved_on > snapshot_date
                then concat('moved_on ', moved_on_text, ' is after the snapshot date ', snapshot_date)
        end as impossible_date_detail,

        case
            when from_division_code_problem is not null
                then concat(
                    'from_division_code ', from_division_code, ' fails GB/T 2260: ', from_division_code_problem
                )
            when to_division_code_problem is not null
                then concat('to_division_code ', to_division_code, ' fails GB/T 2260: ', to_division_code_problem)
        end as invalid_division_code_detail

    from checked

),

rules_applied as (

    -- the surviving record of a double entry is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_record_detail(
            'move_id',
            partition_by='person_id, id_number, from_division_code, from_address, to_division_code, to_address, '
                ~ 'moved_on_text',
            other_rules=other_rules,
            same='person, places and date'
        ) }}
    from rule_details

),

validated as (

    select
        move_id,
        person_id,
        id_number,
        from_division_code,
        from_address,
        to_division_code,
        to_address,
        moved_on_text,
        moved_on,
        updated_at,
        snapshot_date,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
