with

validated as (

    select * from {{ ref('int_standard_addresses_validated') }}

),

rejected as (

    select
        ----------  rejection
        'civil_affairs/civil_registry/standard_addresses' as source_table,
        cast(address_id as varchar) as record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,

        ----------  the record as landed
        address_id,
        standard_address,
        division_code,
        street,
        road,
        house_number,
        building,
        longitude,
        latitude,
        updated_at

    from validated
    where rejection_reason is not null

)

select * from rejected
