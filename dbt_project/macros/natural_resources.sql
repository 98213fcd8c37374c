{#-
    land_planning_layer(table): one GeoJSON layer of the land planning system as the GIS last exported it.

    The GeoJSON connector lands nothing when a layer's file is unchanged since the last run (an empty
    full snapshot), and the chain in var landing_runs then names only that empty run, so macro
    landing_current would read no rows. Until the chain skips such runs, read the newest run up to the
    chain's last one that landed the layer (run ids start with their timestamp, so they sort in time).
-#}

{% macro land_planning_layer(table) -%}
    {%- set runs = landing_chain('natural_resources/land_planning', table) -%}
    {%- if target.type != 'duckdb' -%}
        select * from {{ source('land_planning', table) }}
    {%- else -%}
        select * from {{ source('land_planning', table) }}
        where run <= '{{ runs[-1] if runs else "" }}'
        qualify run = max(run) over ()
    {%- endif -%}
{%- endmacro %}
