{#-
    DuckDB extensions cannot be downloaded at run time: they come from their PyPI wheels, whose file
    paths the caller passes in the environment (citybase.warehouse.run_dbt sets them). Run once per
    build (on-run-start); a LOAD holds for every connection of the database.
-#}

{% macro load_duckdb_extensions() -%}
    {%- set spatial = env_var('CITYBASE_DUCKDB_SPATIAL', '') -%}
    {%- if target.type == 'duckdb' and spatial -%}
        load '{{ spatial }}'
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
