with

persons as (

    select * from {{ ref('int_persons_validated') }}
    where rejection_reason is null

),

households_ranked as (

    select
        household_id,
        household_type,
        row_number() over (partition by household_id order by updated_at desc) as recency
    from {{ ref('stg_hukou__households') }}

),

households as (

    -- one row per household even if the system lists one twice: the latest update wins
    select
        household_id,
        household_type
    from households_ranked
    where recency = 1

),

divisions as (

    select
        division_code,
        division_name
    from {{ ref('divisions') }}

),

final as (

    select
        persons.person_id,
        persons.id_number,
        persons.name,
        persons.sex,
        persons.birth_date,
        persons.ethnicity,
        persons.household_id,
        households.household_type,
        persons.division_code,
        divisions.division_name,
        persons.address,
        {{ age_in_years('persons.birth_date', 'persons.snapshot_date') }} as age,
        persons.updated_at

    from persons
    left join households on persons.household_id = households.household_id
    left join divisions on persons.division_code = divisions.division_code

)

select * from final
