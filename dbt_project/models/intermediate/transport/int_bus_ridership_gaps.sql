{#-
    The daily ridership files that never arrived: every day of the period the landed files cover
    with no landed row. A missing file cannot be quarantined, having no rows; this names it.
-#}

with

ridership as (

    select distinct service_date
    from {{ ref('stg_bus_network__ridership') }}
    where service_date is not null

),

days as (

    select cast(unnest(generate_series(min(service_date), max(service_date), interval 1 day)) as date) as service_date
    from ridership

),

gaps as (

    select
        days.service_date,
        concat('ridership/ridership_', strftime(days.service_date, '%Y%m%d'), '.csv') as expected_file
    from days
    anti join ridership
        on days.service_date = ridership.service_date

)

select * from gaps
