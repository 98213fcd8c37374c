with

source as (

    {{ landing_current('dishonest_debtors', 'dishonest_debtors', 'courts/dishonest_debtors', ['case_id']) }}

),

renamed as (

    select
        ----------  ids
        cast(case_id as bigint) as case_id,
        {{ clean_text('case_number') }} as case_number,
        cast(id_number as varchar) as id_number_text,
        {{ clean_code('id_number') }} as id_number,
        cast(uscc as varchar) as uscc_text,
        {{ clean_code('uscc') }} as uscc,

        ----------  debtor
        {{ clean_text('debtor_type') }} as debtor_type,
        {{ clean_text('name') }} as name,
        {{ clean_text('legal_rep_name') }} as legal_rep_name,

        ----------  case
        {{ clean_text('court') }} as court,
        cast(obligation as varchar) as obligation,
        cast(performance_status as varchar) as performance_status,
        cast(dishonest_conduct as varchar) as dishonest_conduct,

        ----------  dates
        cast(filed_on as varchar) as filed_on_text,
        {{ parse_date_text('filed_on') }} as filed_on,
        cast(published_at as timestamp) as published_at,
        cast(updated_at as timestamp) as updated_at,

        ----------  lineage
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
