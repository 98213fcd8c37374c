with

validated as (

    select
        *,
        concat(_source_file, ':', _source_row) as record_key
    from {{ ref('int_air_quality_readings_validated') }}

),

rejected as (

    select
        ----------  rejection
        'environment/air_quality/readings' as source_table,
        record_key,
        rejection_reason,
        rejection_detail,
        _loaded_from as run_id,
        _source_file as source_file,
        _source_row as source_row,

        ----------  the record as landed
        station_code,
        station_name,
        measured_at_text as measured_at,
        aqi,
        pm25_text as pm25,
        pm10_text as pm10,
        o3_text as o3,
        no2_text as no2,
        so2_text as so2,
        co_text as co,
        primary_pollutant,
        quality_level

    from validated
    where rejection_reason is not null

)

select * from rejected
