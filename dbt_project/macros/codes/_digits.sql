{#-
    Portable building blocks for the validator macros (DuckDB and PostgreSQL alike).

    A character's value is its position in an alphabet minus one, so no cast is ever made and no
    value, however malformed, can make the expression fail. Callers must check the length first:
    substr beyond the end is '' and position('' in ...) is 1 in both engines.
-#}

{% macro char_value(column, index, alphabet='0123456789') -%}
    (position(substr({{ column }}, {{ index }}, 1) in '{{ alphabet }}') - 1)
{%- endmacro %}

{% macro chars_in_alphabet(column, first, last, alphabet='0123456789') -%}
    (
    {%- for i in range(first, last + 1) %}
        {{ '' if loop.first else 'and ' }}position(substr({{ column }}, {{ i }}, 1) in '{{ alphabet }}') > 0
    {%- endfor %}
    )
{%- endmacro %}

{% macro digits_number(column, first, last) -%}
    {#- the integer written by the digits first..last (callers check they are digits) -#}
    (
    {%- for i in range(first, last + 1) %}
        {{ '' if loop.first else '+ ' }}{{ char_value(column, i) }} * {{ 10 ** (last - i) }}
    {%- endfor %}
    )
{%- endmacro %}

{% macro is_calendar_date(year, month, day) -%}
    {#- year, month and day are integer expressions; true for a real proleptic Gregorian date -#}
    (
        {{ year }} >= 1
        and {{ month }} between 1 and 12
        and {{ day }} between 1 and case
            when {{ month }} = 2 then
                case
                    when ({{ year }} % 4 = 0 and {{ year }} % 100 != 0) or {{ year }} % 400 = 0 then 29
                    else 28
                end
            when {{ month }} in (4, 6, 9, 11) then 30
            else 31
        end
    )
{%- endmacro %}

{% macro current_date_number() -%}
    {#- today as the integer yyyymmdd -#}
    (
        extract(year from current_date) * 10000
        + extract(month from current_date) * 100
        + extract(day from current_date)
    )
{%- endmacro %}
