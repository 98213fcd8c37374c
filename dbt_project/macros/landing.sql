{#-
    landing_run(system): the run id read for a landed system ("<department>/<system>"), from var
    landing_runs. Staging models call it for their _loaded_from column, so a build without the run
    (or with a run id that is not a plain token) fails with a clear message instead of reading
    an unintended run. The source definitions build the Parquet path from the same vars.
-#}

{% macro landing_run(system) -%}
    {%- set runs = var('landing_runs', {}) -%}
    {%- set run_id = runs.get(system) if runs is mapping else none -%}
    {%- if execute -%}
        {%- if run_id is none or not modules.re.fullmatch('[0-9A-Za-z][0-9A-Za-z._:+-]*', run_id | string) -%}
            {{ exceptions.raise_compiler_error(
                "var landing_runs must map '" ~ system ~ "' to the run id to read (letters, digits, . _ : + -), "
                ~ "got landing_runs = " ~ runs ~ ". Pass --vars '{landing_root: /abs/path, landing_runs: {"
                ~ system ~ ": <run_id>, ...}}'."
            ) }}
        {%- endif -%}
        {%- set root = var('landing_root', none) -%}
        {%- if target.type == 'duckdb' and (not root or "'" in root | string) -%}
            {{ exceptions.raise_compiler_error(
                "var landing_root must be the absolute path of the landing zone (without quotes), got " ~ root
            ) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(run_id | string) }}
{%- endmacro %}
