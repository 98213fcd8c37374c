{#-
    Every landed reading row, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  station_code, the time or a pollutant concentration blank
      2. impossible_date         the time fits none of the dataloggers' formats (or is not a real hour)
      3. invalid_value           a concentration below zero: -999 is the datalogger's no-data sentinel
      4. orphan_reference        station_code not in the station list (stg_air_quality__stations)
      5. duplicate_record        an earlier row (by file, then row) that passes rules 1-4 has the same station and hour
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = ['missing_required_field', 'impossible_date', 'invalid_value', 'orphan_reference'] -%}

with

readings as (

    select * from {{ ref('stg_air_quality__readings') }}

),

stations as (

    select station_code from {{ ref('stg_air_quality__stations') }}

),

checked as (

    select
        readings.*,
        stations.station_code is not null as station_known,
        concat_ws(
            ', ',
            case when readings.station_code is null then 'station_code' end,
            case when nullif(trim(readings.measured_at_text), '') is null then 'measured_at' end,
            case when nullif(trim(readings.pm25_text), '') is null then 'pm25' end,
            case when nullif(trim(readings.pm10_text), '') is null then 'pm10' end,
            case when nullif(trim(readings.o3_text), '') is null then 'o3' end,
            case when nullif(trim(readings.no2_text), '') is null then 'no2' end,
            case when nullif(trim(readings.so2_text), '') is null then 'so2' end,
            case when nullif(trim(readings.co_text), '') is null then 'co' end
        ) as missing_fields,
        concat_ws(
            ', ',
            case when readings.pm25 < 0 then concat('pm25 ', readings.pm25_text) end,
            case when readings.pm10 < 0 then concat('pm10 ', readings.pm10_text) end,
            case when readings.o3 < 0 then concat('o3 ', readings.o3_text) end,
            case when readings.no2 < 0 then concat('no2 ', readings.no2_text) end,
            case when readings.so2 < 0 then concat('so2 ', readings.so2_text) end,
            case when readings.co < 0 then concat('co ', readings.co_text) end
        ) as negative_values

    from readings
    left join stations
        on readings.station_code = stations.station_code

),

rule_details as (

    select
        *,

        case
            when missing_fields != ''
                then concat('required field empty: ', missing_fields)
        end as missing_required_field_detail,

        case
            when measured_at is null
                then concat('measured_at ', measured_at_text, ' is not an hour in a known datalogger format')
        end as impossible_date_detail,

        case
            when negative_values != ''
                then concat('concentration below zero (-999 is the no-data sentinel): ', negative_values)
        end as invalid_value_detail,

        case
            when not station_known
                then concat('station_code ', station_code, ' is not in environment/air_quality/stations')
        end as orphan_reference_detail

    from checked

),

rules_applied as (

    -- the surviving row of a station's hour sent twice is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_row_detail('station_code, measured_at', other_rules, same='station_code and measured_at') }}
    from rule_details

),

validated as (

    select
        station_code,
        station_name,
        measured_at_text,
        measured_at,
        aqi,
        primary_pollutant,
        quality_level,
        pm25_text,
        pm25,
        pm10_text,
        pm10,
        o3_text,
        o3,
        no2_text,
        no2,
        so2_text,
        so2,
        co_text,
        co,
        _source_file,
        _source_row,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
