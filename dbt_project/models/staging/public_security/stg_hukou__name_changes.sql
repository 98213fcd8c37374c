with

source as (

    {{ landing_current('hukou', 'name_changes', 'public_security/hukou', ['change_id']) }}

),

renamed as (

    select
        ----------  ids
        cast(change_id as bigint) as change_id,
        cast(person_id as bigint) as person_id,
        {{ clean_code('id_number') }} as id_number,

        ----------  text
        {{ clean_text('old_name') }} as old_name,
        {{ clean_text('new_name') }} as new_name,
        {{ clean_text('reason') }} as reason,

        ----------  dates
        cast(changed_on as varchar) as changed_on_text,
        {{ parse_date_text('changed_on') }} as changed_on,
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
