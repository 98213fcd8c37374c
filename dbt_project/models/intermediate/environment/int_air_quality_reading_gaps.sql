{#-
    The station hours that never arrived: every station of the list for every hour of the period the
    landed files cover, less the hours a row landed for (whether it passes validation or not). A gap
    cannot be quarantined, having no row; this names it, with the daily file it should have been in.
-#}

with

readings as (

    select
        station_code,
        measured_at
    from {{ ref('stg_air_quality__readings') }}
    where measured_at is not null

),

stations as (

    select station_code from {{ ref('stg_air_quality__stations') }}

),

hours as (

    select unnest(generate_series(min(measured_at), max(measured_at), interval 1 hour)) as measured_at
    from readings

),

expected as (

    select
        stations.station_code,
        hours.measured_at
    from stations
    cross join hours

),

gaps as (

    select
        expected.station_code,
        expected.measured_at,
        concat(expected.station_code, '|', strftime(expected.measured_at, '%Y-%m-%d %H:%M:%S')) as gap_key,
        concat('readings/aqi_', strftime(expected.measured_at, '%Y%m%d'), '.csv') as expected_file
    from expected
    anti join readings
        on
            expected.station_code = readings.station_code
            and expected.measured_at = readings.measured_at

)

select * from gaps
