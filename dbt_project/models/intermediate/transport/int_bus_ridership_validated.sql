{#-
    Every landed ridership row, with the first rule it breaks. Rules, in precedence order:
      1. missing_required_field  date, line_id, stop_id, boardings or alightings blank
      2. impossible_date         the date is not a calendar date (macro parse_date_text)
      3. invalid_value           a count that is not a whole number, or below zero
      4. orphan_reference        line_id not in transport/bus_network/lines, or stop_id not in its stops
                                 (a retired stop the card readers still report)
      5. duplicate_record        an earlier row (by file, then row) that passes rules 1-4 has the same date, line and stop
    Each rule yields a detail text or NULL; the first non-NULL one is the rejection.
-#}

{%- set other_rules = ['missing_required_field', 'impossible_date', 'invalid_value', 'orphan_reference'] -%}

with

ridership as (

    select * from {{ ref('stg_bus_network__ridership') }}

),

lines as (

    select line_id from {{ ref('stg_bus_network__lines') }}

),

stops as (

    select stop_id from {{ ref('stg_bus_network__stops') }}

),

checked as (

    select
        ridership.*,
        lines.line_id is not null as line_known,
        stops.stop_id is not null as stop_known,
        concat_ws(
            ', ',
            case when nullif(trim(ridership.service_date_text), '') is null then 'service_date' end,
            case when ridership.line_id is null then 'line_id' end,
            case when ridership.stop_id is null then 'stop_id' end,
            case when nullif(trim(ridership.boardings_text), '') is null then 'boardings' end,
            case when nullif(trim(ridership.alightings_text), '') is null then 'alightings' end
        ) as missing_fields,
        concat_ws(
            ', ',
            case
                when ridership.boardings is null or ridership.boardings < 0
                    then concat('boardings ', ridership.boardings_text)
            end,
            case
                when ridership.alightings is null or ridership.alightings < 0
                    then concat('alightings ', ridership.alightings_text)
            end
        ) as bad_counts

    from ridership
    left join lines
        on ridership.line_id = lines.line_id
    left join stops
        on ridership.stop_id = stops.stop_id

),

rule_details as (

    select
        *,

        case
            when missing_fields != ''
                then concat('required field empty: ', missing_fields)
        end as missing_required_field_detail,

        case
            when service_date is null
                then concat('date ', service_date_text, ' is not a calendar date')
        end as impossible_date_detail,

        case
            when bad_counts != ''
                then concat('count not a whole number of zero or more: ', bad_counts)
        end as invalid_value_detail,

        case
            when not line_known
                then concat('line_id ', line_id, ' is not in transport/bus_network/lines')
            when not stop_known
                then concat('stop_id ', stop_id, ' is not in transport/bus_network/stops')
        end as orphan_reference_detail

    from checked

),

rules_applied as (

    -- the surviving row of a line stop's day sent twice is the earliest one that passes every other rule
    select
        *,
        {{ duplicate_row_detail('service_date, line_id, stop_id', other_rules, same='date, line_id and stop_id') }}
    from rule_details

),

validated as (

    select
        service_date_text,
        service_date,
        line_id,
        stop_id,
        boardings_text,
        boardings,
        alightings_text,
        alightings,
        _source_file,
        _source_row,
        _loaded_from,

        {{ rejection(other_rules + ['duplicate_record']) }}

    from rules_applied

)

select * from validated
