with

source as (

    {{ landing_current('social_insurance', 'arrears', 'hr_social_security/social_insurance', ['arrears_id']) }}

),

renamed as (

    select
        ----------  ids
        cast(arrears_id as bigint) as arrears_id,
        {{ clean_code('employer_uscc') }} as employer_uscc,
        cast(employer_uscc as varchar) as employer_uscc_text,

        ----------  numerics
        cast(months_owed as bigint) as months_owed,
        cast(amount as double precision) as amount,

        ----------  dates
        cast(since as varchar) as since_text,
        {{ parse_date_text('since') }} as since,
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
