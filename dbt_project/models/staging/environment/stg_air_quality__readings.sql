with

source as (

    {{ landing_files('air_quality', 'readings', 'environment/air_quality') }}

),

renamed as (

    select
        ----------  ids
        {{ clean_code('"监测点编码"') }} as station_code,
        {{ clean_text('"监测点名称"') }} as station_name,

        ----------  time: one station's datalogger writes e.g. '2025/12/31 5:00' or '2025123105'
        cast(监测时间 as varchar) as measured_at_text,
        try_strptime(
            {{ clean_text('"监测时间"') }},
            ['%Y-%m-%d %H:%M:%S', '%Y/%m/%d %H:%M', '%Y%m%d%H', '%Y年%m月%d日%H时', '%Y-%m-%dT%H:%M:%S']
        ) as measured_at,

        ----------  index as the platform computed it
        try_cast({{ clean_text('"空气质量指数"') }} as integer) as aqi,
        {{ clean_text('"首要污染物"') }} as primary_pollutant,
        {{ clean_text('"空气质量级别"') }} as quality_level,

        ----------  concentrations: text as landed (blank, -999) and the number
        cast("PM2.5浓度" as varchar) as pm25_text,
        try_cast({{ clean_text('"PM2.5浓度"') }} as double precision) as pm25,
        cast(pm10浓度 as varchar) as pm10_text,  -- DuckDB identifiers are case-insensitive
        try_cast({{ clean_text('"PM10浓度"') }} as double precision) as pm10,
        cast(臭氧浓度 as varchar) as o3_text,
        try_cast({{ clean_text('"臭氧浓度"') }} as double precision) as o3,
        cast(二氧化氮浓度 as varchar) as no2_text,
        try_cast({{ clean_text('"二氧化氮浓度"') }} as double precision) as no2,
        cast(二氧化硫浓度 as varchar) as so2_text,
        try_cast({{ clean_text('"二氧化硫浓度"') }} as double precision) as so2,
        cast(一氧化碳浓度 as varchar) as co_text,
        try_cast({{ clean_text('"一氧化碳浓度"') }} as double precision) as co,

        ----------  lineage
        cast(_source_file as varchar) as _source_file,
        cast(_source_row as bigint) as _source_row,
        cast(run as varchar) as _loaded_from

    from source

)

select * from renamed
