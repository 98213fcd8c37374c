{#-
    The (ID number, name) pairs the household registration holds, cleaned as the other departments'
    systems are staged: what their name_mismatch rules check a person's name against (macro
    hukou_name_differs). An ID number entered on several hukou records (a duplicate, or a mistyped
    number that is someone else's) has one pair per distinct name, and a name matches if it is any of
    them: a system is not blamed for the registry's own doubt.
-#}

select distinct
    {{ clean_code('id_number') }} as id_number,
    {{ clean_text('name') }} as name
from {{ ref('stg_hukou__persons') }}
where
    {{ clean_code('id_number') }} is not null
    and {{ clean_text('name') }} is not null
