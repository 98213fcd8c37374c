with

source as (

    {{ landing_current('business_registry', 'enterprises', 'market_regulation/business_registry', ['enterprise_id']) }}

),

renamed as (

    select
        ----------  ids
        cast(enterprise_id as bigint) as enterprise_id,
        cast(uscc as varchar) as uscc,

        ----------  text
        cast(name as varchar) as name,
        cast(entity_type as varchar) as entity_type,
        cast(status as varchar) as status,
        cast(division_code as varchar) as division_code,
        cast(address as varchar) as address,
        cast(legal_rep_id_number as varchar) as legal_rep_id_number,
        cast(legal_rep_name as varchar) as legal_rep_name,

        ----------  numerics
        cast(registered_capital as double precision) as registered_capital,

        ----------  dates
        cast(established_on as varchar) as established_on_text,
        {{ text_to_date('cast(established_on as varchar)') }} as established_on,
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
