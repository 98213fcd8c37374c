{#-
    Standardising the typographic dirt of re-keyed department data, so staging can cast it: blanks
    (also the ideographic space U+3000 and tabs) around a value, full-width letters and digits typed
    with a Chinese input method in full-width mode, a lower-case check character, and dates written
    2020-01-05, 2020/1/5, 20200105, 2020年1月5日 or 2020.01.05. Anything that still does not fit its rule
    afterwards is left as it is, for the validated models to quarantine with a reason.

    clean_text(column)       trimmed, full-width ASCII letters/digits/punctuation made half-width; '' is NULL
    clean_code(column)       clean_text, upper case: ID numbers (a written x), USCCs, other codes
    date_text_to_iso(column) 'YYYY-MM-DD' text for any of the date formats above (not yet checked as a
                             calendar date), else the cleaned text unchanged
    parse_date_text(column)  date_text_to_iso as a date, or NULL when it is not a real calendar date
-#}

{% macro clean_text(column) -%}
    nullif(
        {{ 'btrim' if target.type == 'postgres' else 'trim' }}(
            translate(
                cast({{ column }} as varchar),
                '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ－／．：',
                '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-/.:'
            ),
            ' ' || chr(9) || chr(10) || chr(13) || chr(12288)
        ),
        ''
    )
{%- endmacro %}

{% macro clean_code(column) -%}
    upper({{ clean_text(column) }})
{%- endmacro %}

{% macro date_text_to_iso(column) -%}
    {%- set v = clean_text(column) -%}
    {%- set ymd = '^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?$' -%}
    case
        when {{ matches_regex(v, '^[0-9]{8}$') }}
            then concat(substr({{ v }}, 1, 4), '-', substr({{ v }}, 5, 2), '-', substr({{ v }}, 7, 2))
        when {{ matches_regex(v, ymd) }}
            then concat(
                regexp_replace({{ v }}, '{{ ymd }}', '\1'), '-',
                lpad(regexp_replace({{ v }}, '{{ ymd }}', '\2'), 2, '0'), '-',
                lpad(regexp_replace({{ v }}, '{{ ymd }}', '\3'), 2, '0')
            )
        else {{ v }}
    end
{%- endmacro %}

{% macro parse_date_text(column) -%}
    {{ text_to_date(date_text_to_iso(column)) }}
{%- endmacro %}

{% macro matches_regex(column, pattern) -%}
    {%- if target.type == 'postgres' -%}
        ({{ column }} ~ '{{ pattern }}')
    {%- else -%}
        regexp_matches({{ column }}, '{{ pattern }}')
    {%- endif -%}
{%- endmacro %}
