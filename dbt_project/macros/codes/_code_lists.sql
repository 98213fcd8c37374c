{#-
    Code lists behind the validator macros. They mirror include/citybase/codes/ (the reference);
    tests/test_sql_validators.py keeps the two in agreement.
-#}

{% macro province_codes() -%}
    {{ return([
        '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
        '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64',
        '65', '71', '81', '82',
    ]) }}
{%- endmacro %}

{% macro zhengzhou_current_division_codes() -%}
    {#- the city itself and its 12 current county-level divisions (seeds/divisions.csv) -#}
    {{ return([
        '410100', '410102', '410103', '410104', '410105', '410106', '410108',
        '410122', '410181', '410182', '410183', '410184', '410185',
    ]) }}
{%- endmacro %}

{% macro zhengzhou_obsolete_division_codes() -%}
    {{ return({'410107': '邙山区 (now 惠济区 410108)'}) }}
{%- endmacro %}

{% macro uscc_authority_types() -%}
    {#- registration authority (position 1) -> the entity types it may issue (position 2), GB 32100 annex A -#}
    {{ return({'1': '1239', '5': '1239', '9': '123', 'Y': '1'}) }}
{%- endmacro %}

{% macro sql_string_list(values) -%}
    {#- ['a', 'b'] -> 'a', 'b' (values are code literals without quotes) -#}
    '{{ values | join("', '") }}'
{%- endmacro %}
