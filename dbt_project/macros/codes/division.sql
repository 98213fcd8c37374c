{#-
    GB/T 2260 administrative division code, exactly as citybase.codes.division_code_problem (the
    reference): six digits with a known province and no county part without a prefecture part.
    Inside Zhengzhou (4101xx) the code must be a current division, or an obsolete one when
    allow_obsolete (old ID numbers carry them); elsewhere only the structure is checked.

    division_code_problem(column) is NULL for a valid code, else the reference's reason text.
-#}

{% macro division_code_problem(column, allow_obsolete=false) -%}
    {%- set v = '(' ~ column ~ ')' -%}
    {%- set current = zhengzhou_current_division_codes() -%}
    {%- set obsolete_branches -%}
        {%- for code, note in zhengzhou_obsolete_division_codes().items() %}
        when {{ v }} = '{{ code }}' then {{ 'null' if allow_obsolete else "'obsolete code: " ~ note ~ "'" }}
        {%- endfor %}
    {%- endset -%}
    case
        when {{ v }} is null or {{ v }} = '' then 'missing'
        when length({{ v }}) != 6 or not {{ chars_in_alphabet(v, 1, 6) }} then 'expected 6 digits'
        when substr({{ v }}, 1, 2) not in ({{ sql_string_list(province_codes()) }})
            then concat('unknown province ', substr({{ v }}, 1, 2))
        when substr({{ v }}, 3, 2) = '00' and substr({{ v }}, 5, 2) != '00'
            then 'county part set without a prefecture part'
        {{ obsolete_branches }}
        when substr({{ v }}, 1, 4) = '4101' and {{ v }} not in ({{ sql_string_list(current) }})
            then 'not a Zhengzhou division code ({{ current | sort | join(", ") }})'
    end
{%- endmacro %}

{% macro division_code_is_valid(column, allow_obsolete=false) -%}
    ({{ division_code_problem(column, allow_obsolete) }} is null)
{%- endmacro %}
