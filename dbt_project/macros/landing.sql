{#-
    Reading the landing zone. Every extraction run of a table lands under
    <landing_root>/<department>/<system>/<table>/run=<run_id>/: batch-*.parquet with the rows and,
    for an incremental run, deletes.parquet with the primary keys the system no longer holds.
    A full-snapshot run holds the whole table; an incremental run only what changed since the last.

    landing_chain(system, table): the runs to read for one table, oldest first, from var landing_runs
    ({"<department>/<system>": {"<table>": [run_id, ...]}}): the table's latest full snapshot, then
    each incremental run after it. A build without them (or with a run id that is not a plain token)
    fails with a message naming the var, instead of reading an unintended run.

    landing_current(source_name, table, system, primary_key): the table as the system held it at the
    last run of its chain: per key the newest landed version, unless the same or a later run deleted
    the key. Each row keeps the run it was landed by in column `run`. Staging models use it as their
    source CTE, so incremental landings need no stateful dbt models: any chain rebuilds the same.

    landing_files(source_name, table, system): a file drop's table: every file its chain landed, each
    as the newest run delivered it (a redelivered, corrected file replaces the earlier delivery whole).
    Rows keep `_source_file` and `_source_row`, so a quarantined record names where it came from.
-#}

{% macro landing_chain(system, table) -%}
    {%- set systems = var('landing_runs', {}) -%}
    {%- set tables = systems.get(system) if systems is mapping else none -%}
    {%- set runs = tables.get(table) if tables is mapping else none -%}
    {%- if execute -%}
        {%- set plain = '[0-9A-Za-z][0-9A-Za-z._:+-]*' -%}
        {%- set valid = runs is iterable and runs is not string and runs is not mapping
            and runs | length > 0 and runs | reject('string') | list | length == 0
            and modules.re.fullmatch(plain ~ '(,' ~ plain ~ ')*', runs | join(',')) is not none -%}
        {%- if not valid -%}
            {{ exceptions.raise_compiler_error(
                "var landing_runs must map '" ~ system ~ "' and table '" ~ table ~ "' to the runs to read, "
                ~ "oldest first (run ids of letters, digits, . _ : + -), got landing_runs = " ~ systems
                ~ ". Pass --vars '{landing_root: /abs/path, landing_runs: {" ~ system ~ ": {" ~ table
                ~ ": [<full snapshot run>, <incremental run>, ...]}, ...}}'."
            ) }}
        {%- endif -%}
        {%- set root = var('landing_root', none) -%}
        {%- if target.type == 'duckdb' and (not root or "'" in root | string) -%}
            {{ exceptions.raise_compiler_error(
                "var landing_root must be the absolute path of the landing zone (without quotes), got " ~ root
            ) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(runs if runs is iterable and runs is not string else []) }}
{%- endmacro %}

{% macro landing_current(source_name, table, system, primary_key) -%}
    {%- set runs = landing_chain(system, table) -%}
    {%- if target.type != 'duckdb' -%}
        {#- elsewhere the landing tables are loaded by someone else: the current state, each row's run in `run` -#}
        select * from {{ source(source_name, table) }}
    {%- elif runs | length <= 1 -%}
        select * from {{ source(source_name, table) }}
        where run = '{{ runs[0] if runs else "" }}'
    {%- else -%}
        {%- set chain = "'" ~ runs | join("', '") ~ "'" -%}
        {%- set incremental = "'" ~ runs[1:] | join("', '") ~ "'" -%}
        {%- set key_match = "(deleted." ~ primary_key | join(", deleted.") ~ ") = (landed."
            ~ primary_key | join(", landed.") ~ ")" -%}
        select landed.* exclude (_run_order)
        from (
            select
                *,
                list_position([{{ chain }}], run) as _run_order
            from {{ source(source_name, table) }}
            where run in ({{ chain }})
            qualify row_number() over (partition by {{ primary_key | join(', ') }} order by _run_order desc) = 1
        ) as landed
        where not exists (
            select 1
            from {{ source(source_name, table ~ '_deletes') }} as deleted
            where
                deleted.run in ({{ incremental }})
                and list_position([{{ chain }}], deleted.run) >= landed._run_order
                and {{ key_match }}
        )
    {%- endif -%}
{%- endmacro %}

{% macro landing_files(source_name, table, system) -%}
    {%- set runs = landing_chain(system, table) -%}
    {%- set chain = "'" ~ runs | join("', '") ~ "'" -%}
    {%- if target.type != 'duckdb' -%}
        select * from {{ source(source_name, table) }}
    {%- else -%}
        select * exclude (_run_order)
        from (
            select
                *,
                list_position([{{ chain }}], run) as _run_order
            from {{ source(source_name, table) }}
            where run in ({{ chain }})
        ) as landed
        qualify _run_order = max(_run_order) over (partition by _source_file)
    {%- endif -%}
{%- endmacro %}
