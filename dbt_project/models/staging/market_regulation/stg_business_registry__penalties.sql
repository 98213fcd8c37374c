with

source as (

    {{ landing_current('business_registry', 'penalties', 'market_regulation/business_registry', ['penalty_id']) }}

),

renamed as (

    select
        ----------  ids
        cast(penalty_id as bigint) as penalty_id,
        cast(uscc as varchar) as uscc,
        {{ clean_text('decision_no') }} as decision_no,

        ----------  decision
        {{ clean_text('violation') }} as violation,
        cast(fine_amount as double precision) as fine_amount,

        ----------  dates
        cast(decided_on as varchar) as decided_on_text,
        {{ parse_date_text('decided_on') }} as decided_on,
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
