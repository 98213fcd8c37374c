with

source as (

    {{ landing_current('social_insurance', 'insured_persons', 'hr_social_security/social_insurance', ['insured_id']) }}

),

renamed as (

    select
        ----------  ids
        cast(insured_id as bigint) as insured_id,
        {{ clean_code('id_number') }} as id_number,
        cast(id_number as varchar) as id_number_text,
        {{ clean_code('employer_uscc') }} as employer_uscc,

        ----------  text
        {{ clean_text('name') }} as name,
        cast(insurance_types as varchar) as insurance_types,
        cast(status as varchar) as status,

        ----------  dates
        cast(start_date as varchar) as start_date_text,
        {{ parse_date_text('start_date') }} as start_date,
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
