{#-
    hukou_cancelled_person_ids(): the person_ids the household registration has removed (a death cancels
    the hukou), as every landed deletes.parquet of persons records them. Their moves and name changes
    are still history, not orphans. A chain of one full snapshot has no deletes to read (and DuckDB
    fails on a glob that matches no file), so it yields no rows: a person cancelled before that snapshot
    cannot be told from one that never existed.
-#}

{% macro hukou_cancelled_person_ids() -%}
    {%- set deletes = source('hukou', 'persons_deletes') -%}
    {%- if target.type == 'duckdb' and landing_chain('public_security/hukou', 'persons') | length <= 1 -%}
        select cast(null as bigint) as person_id
        where false
    {%- else -%}
        select distinct cast(person_id as bigint) as person_id
        from {{ deletes }}
    {%- endif -%}
{%- endmacro %}

{#-
    hukou_name_differs(id_number, name): whether the household registration knows the ID number, but
    not under this name (int_person_names_registered): a name re-keyed with a same-sound or a
    traditional character. An ID number the registry does not hold is no mismatch (people in other
    systems need not be registered here); a NULL name is, so test missing fields first.
-#}

{% macro hukou_name_differs(id_number, name) -%}
    (
        exists (
            select 1 from {{ ref('int_person_names_registered') }} as hukou_pair
            where hukou_pair.id_number = {{ id_number }}
        )
        and not exists (
            select 1 from {{ ref('int_person_names_registered') }} as hukou_pair
            where hukou_pair.id_number = {{ id_number }} and hukou_pair.name = {{ name }}
        )
    )
{%- endmacro %}

{#-
    hukou_person_reference_problem(record): the orphan_reference detail of a hukou move or name change
    aliased ``record`` and left-joined to int_person_ids_registered as ``registered`` on person_id, or
    NULL: its person_id is neither held nor cancelled by the registry, or the person under that key holds
    another valid ID number. The detail is untagged free text: no ID number in it.
-#}

{% macro hukou_person_reference_problem(record) -%}
    case
        when registered.person_id is null
            then concat('person_id ', {{ record }}.person_id, ' is not a person of public_security/hukou/persons')
        when registered.has_valid_id_number and registered.id_number != {{ record }}.id_number
            then concat(
                'person_id ', {{ record }}.person_id, ' of public_security/hukou/persons',
                ' holds another id_number than this record'
            )
    end
{%- endmacro %}
