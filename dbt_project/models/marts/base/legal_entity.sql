with

enterprises as (

    select * from {{ ref('int_enterprises_validated') }}
    where rejection_reason is null

),

population as (

    select id_number from {{ ref('population') }}

),

divisions as (

    select
        division_code,
        division_name
    from {{ ref('divisions') }}

),

joined as (

    select
        enterprises.*,
        divisions.division_name,
        population.id_number is not null as legal_rep_in_population

    from enterprises
    left join population on enterprises.legal_rep_id_number = population.id_number
    left join divisions on enterprises.division_code = divisions.division_code

),

final as (

    select
        enterprise_id,
        uscc,
        name,
        entity_type,
        status,
        registered_capital,
        established_on,
        division_code,
        division_name,
        address,
        legal_rep_id_number,
        legal_rep_name,
        legal_rep_in_population,
        updated_at

    from joined

)

select * from final
