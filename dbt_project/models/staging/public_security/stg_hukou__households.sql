with

source as (

    {{ landing_current('hukou', 'households', 'public_security/hukou', ['household_id']) }}

),

renamed as (

    select
        ----------  ids
        cast(household_id as varchar) as household_id,
        cast(head_id_number as varchar) as head_id_number,

        ----------  text
        cast(household_type as varchar) as household_type,
        cast(division_code as varchar) as division_code,
        cast(address as varchar) as address,

        ----------  dates
        cast(registered_at as varchar) as registered_at,
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
