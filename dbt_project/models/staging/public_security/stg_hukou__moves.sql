with

source as (

    {{ landing_current('hukou', 'moves', 'public_security/hukou', ['move_id']) }}

),

renamed as (

    select
        ----------  ids
        cast(move_id as bigint) as move_id,
        cast(person_id as bigint) as person_id,
        {{ clean_code('id_number') }} as id_number,

        ----------  text
        {{ clean_code('from_division_code') }} as from_division_code,
        {{ clean_text('from_address') }} as from_address,
        {{ clean_code('to_division_code') }} as to_division_code,
        {{ clean_text('to_address') }} as to_address,

        ----------  dates
        cast(moved_on as varchar) as moved_on_text,
        {{ parse_date_text('moved_on') }} as moved_on,
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
