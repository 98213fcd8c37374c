{#-
    Every person_id the household registration holds, with the ID number it holds under that key and
    whether that number is valid, and every person_id it has cancelled (macro hukou_cancelled_person_ids)
    but no longer holds: what the hukou moves' and name changes' orphan_reference rule checks a record's
    person against (macro hukou_person_reference_problem), computed once for both.
-#}

with

persons as (

    select
        person_id,
        id_number,
        {{ id_number_problem('id_number') }} is null as has_valid_id_number
    from {{ ref('stg_hukou__persons') }}

),

cancelled_persons as (

    {{ hukou_cancelled_person_ids() }}

)

select
    person_id,
    id_number,
    has_valid_id_number,
    false as is_cancelled
from persons

union all

select
    cancelled_persons.person_id,
    cast(null as varchar) as id_number,
    false as has_valid_id_number,
    true as is_cancelled
from cancelled_persons
where not exists (
    select 1 from persons
    where persons.person_id = cancelled_persons.person_id
)
