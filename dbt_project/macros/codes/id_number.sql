{#-
    GB 11643-1999 citizen identity number, exactly as citybase.codes.id_number_problem (the
    reference): 18 characters, 17 digits then a digit or upper-case X, a known province, a birth
    date that is a calendar date between 1800-01-01 and today, and the ISO 7064 MOD 11-2 check.

    id_number_problem(column) is NULL for a valid number, else the reference's reason text.
-#}

{% macro id_number_problem(column) -%}
    {%- set v = '(' ~ column ~ ')' -%}
    {%- set weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] -%}
    {%- set year = digits_number(v, 7, 10) -%}
    {%- set month = digits_number(v, 11, 12) -%}
    {%- set day = digits_number(v, 13, 14) -%}
    {%- set expected -%}
        substr('10X98765432', (
        {%- for w in weights %}
            {{ '' if loop.first else '+ ' }}{{ char_value(v, loop.index) }} * {{ w }}
        {%- endfor %}
        ) % 11 + 1, 1)
    {%- endset -%}
    case
        when {{ v }} is null or {{ v }} = '' then 'missing'
        when length({{ v }}) != 18 then concat('length ', length({{ v }}), ', expected 18')
        when not (
            {{ chars_in_alphabet(v, 1, 17) }}
            and position(substr({{ v }}, 18, 1) in '0123456789X') > 0
        ) then 'expected 17 digits then a digit or X'
        when substr({{ v }}, 1, 2) not in ({{ sql_string_list(province_codes()) }})
            then concat('address code ', substr({{ v }}, 1, 6), ': unknown province ', substr({{ v }}, 1, 2))
        when not {{ is_calendar_date(year, month, day) }}
            then concat('birth date ', substr({{ v }}, 7, 8), ' is not a calendar date')
        when {{ digits_number(v, 7, 14) }} < 18000101
            or {{ digits_number(v, 7, 14) }} > {{ current_date_number() }}
            then concat(
                'birth date ', substr({{ v }}, 7, 4), '-', substr({{ v }}, 11, 2), '-', substr({{ v }}, 13, 2),
                ' out of range'
            )
        when substr({{ v }}, 18, 1) != {{ expected }}
            then concat('check character ', substr({{ v }}, 18, 1), ', expected ', {{ expected }})
    end
{%- endmacro %}

{% macro id_number_is_valid(column) -%}
    ({{ id_number_problem(column) }} is null)
{%- endmacro %}
