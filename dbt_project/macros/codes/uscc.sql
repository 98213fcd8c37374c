{#-
    GB 32100-2015 unified social credit code, exactly as citybase.codes.uscc_problem (the
    reference): 18 characters of 0-9 A-Z without I O Z S V, a registration authority and an entity
    type it issues, a division code with a known province, the GB 11714 organisation-code check
    (position 17) and the MOD 31 check (position 18).

    uscc_problem(column) is NULL for a valid code, else the reference's reason text (the
    alphabet message does not list the offending characters).
-#}

{% macro uscc_problem(column) -%}
    {%- set v = '(' ~ column ~ ')' -%}
    {%- set alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY' -%}
    {%- set org_alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ' -%}
    {%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] -%}
    {%- set org_weights = [3, 7, 9, 10, 5, 8, 4, 2] -%}
    {%- set authority_types = uscc_authority_types() -%}
    {%- set issued_by_authority -%}
        {%- for authority, types in authority_types.items() %}
            {{ '' if loop.first else 'or ' }}(substr({{ v }}, 1, 1) = '{{ authority }}'
                and substr({{ v }}, 2, 1) in ({{ sql_string_list(types | list) }}))
        {%- endfor %}
    {%- endset -%}
    {%- set org_expected -%}
        {#- 11 - (sum mod 11), with 10 -> X and 11 -> 0 -#}
        substr('0123456789X0', 12 - (
        {%- for w in org_weights %}
            {{ '' if loop.first else '+ ' }}{{ char_value(v, loop.index + 8, org_alphabet) }} * {{ w }}
        {%- endfor %}
        ) % 11, 1)
    {%- endset -%}
    {%- set expected -%}
        substr('{{ alphabet }}', (31 - (
        {%- for w in weights %}
            {{ '' if loop.first else '+ ' }}{{ char_value(v, loop.index, alphabet) }} * {{ w }}
        {%- endfor %}
        ) % 31) % 31 + 1, 1)
    {%- endset -%}
    case
        when {{ v }} is null or {{ v }} = '' then 'missing'
        when length({{ v }}) != 18 then concat('length ', length({{ v }}), ', expected 18')
        when not {{ chars_in_alphabet(v, 1, 18, alphabet) }}
            then 'characters not in the USCC alphabet (0-9, A-Z without I O Z S V)'
        when substr({{ v }}, 1, 1) not in ({{ sql_string_list(authority_types.keys() | list) }})
            then concat('unknown registration authority ', substr({{ v }}, 1, 1))
        when not ({{ issued_by_authority }})
            then concat('entity type ', substr({{ v }}, 2, 1), ' not issued by authority ', substr({{ v }}, 1, 1))
        when not {{ chars_in_alphabet(v, 3, 8) }}
            or substr({{ v }}, 3, 2) not in ({{ sql_string_list(province_codes()) }})
            then concat('division code ', substr({{ v }}, 3, 6), ' is not a GB/T 2260 code')
        when substr({{ v }}, 17, 1) != {{ org_expected }}
            then concat('organisation code check character ', substr({{ v }}, 17, 1), ', expected ', {{ org_expected }})
        when substr({{ v }}, 18, 1) != {{ expected }}
            then concat('check character ', substr({{ v }}, 18, 1), ', expected ', {{ expected }})
    end
{%- endmacro %}

{% macro uscc_is_valid(column) -%}
    ({{ uscc_problem(column) }} is null)
{%- endmacro %}
