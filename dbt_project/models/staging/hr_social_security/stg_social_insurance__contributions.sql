with

source as (

    {{ landing_current(
        'social_insurance', 'contributions', 'hr_social_security/social_insurance', ['contribution_id']
    ) }}

),

renamed as (

    select
        ----------  ids
        cast(contribution_id as bigint) as contribution_id,
        cast(insured_id as bigint) as insured_id,

        ----------  text
        cast(month as varchar) as contribution_month,

        ----------  numerics
        cast(base as double precision) as base,
        cast(amount as double precision) as amount,

        ----------  dates
        cast(paid_at as timestamp) as paid_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
