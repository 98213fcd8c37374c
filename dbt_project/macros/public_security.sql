{#-
    hukou_cancelled_person_ids(): the person_ids the household registration has removed (a death cancels
    the hukou), as every landed deletes.parquet of persons records them. Their moves and name changes
    are still history, not orphans. A chain of one full snapshot has no deletes to read (and DuckDB
    fails on a glob that matches no file), so it yields no rows: a person cancelled before that snapshot
    cannot be told from one that never existed.
-#}

{% macro hukou_cancelled_person_ids() -%}
    {%- set deletes = source('hukou', 'persons_deletes') -%}
    {%- if target.type == 'duckdb' and landing_chain('public_security/hukou', 'persons') | length <= 1 -%}
        select cast(null as bigint) as person_id
        where false
    {%- else -%}
        select distinct cast(person_id as bigint) as person_id
        from {{ deletes }}
    {%- endif -%}
{%- endmacro %}
