with

source as (

    {{ landing_current('hukou', 'persons', 'public_security/hukou', ['person_id']) }}

),

renamed as (

    select
        ----------  ids
        cast(person_id as bigint) as person_id,
        cast(id_number as varchar) as id_number,
        cast(household_id as varchar) as household_id,

        ----------  text
        cast(name as varchar) as name,
        cast(sex as varchar) as sex,
        cast(ethnicity as varchar) as ethnicity,
        cast(division_code as varchar) as division_code,
        cast(address as varchar) as address,

        ----------  dates
        cast(birth_date as varchar) as birth_date_text,
        {{ text_to_date('cast(birth_date as varchar)') }} as birth_date,
        cast(registered_at as varchar) as registered_at,
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
