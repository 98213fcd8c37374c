{#-
    Portable text-to-date conversion: a 'YYYY-MM-DD' text that is a real calendar date becomes a
    date, anything else NULL. The check runs on the digits before the cast, so the cast can never
    fail (DuckDB's try_cast is not available in PostgreSQL).
-#}

{% macro iso_date_is_valid(column) -%}
    {%- set v = '(' ~ column ~ ')' -%}
    (
        length({{ v }}) = 10
        and substr({{ v }}, 5, 1) = '-'
        and substr({{ v }}, 8, 1) = '-'
        and {{ chars_in_alphabet(v, 1, 4) }}
        and {{ chars_in_alphabet(v, 6, 7) }}
        and {{ chars_in_alphabet(v, 9, 10) }}
        and {{ is_calendar_date(
            digits_number(v, 1, 4), digits_number(v, 6, 7), digits_number(v, 9, 10)
        ) }}
    )
{%- endmacro %}

{% macro text_to_date(column) -%}
    case when {{ iso_date_is_valid(column) }} then cast({{ column }} as date) end
{%- endmacro %}

{% macro age_in_years(birth_date, as_of) -%}
    {#- whole years from birth_date to as_of (a birthday on 29 February counts from 1 March) -#}
    cast(
        extract(year from {{ as_of }}) - extract(year from {{ birth_date }})
        - case
            when extract(month from {{ as_of }}) * 100 + extract(day from {{ as_of }})
                < extract(month from {{ birth_date }}) * 100 + extract(day from {{ birth_date }})
                then 1
            else 0
        end
        as integer
    )
{%- endmacro %}
