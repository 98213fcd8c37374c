{#-
    The rule plumbing every int_*_validated model shares, written once so that each model states only
    its rules: the detail expressions (in its rule_details CTE) and their precedence (a list of rule
    names, in the order of its header comment). A rule <rule> is a column <rule>_detail that is NULL
    when the record passes it. Plain SQL: persons and enterprises also run on PostgreSQL.

    passes_rules(rules)      true when the record passes every rule of the list (all details NULL)
    rejection(rules)         the columns rejection_reason, the first rule of the list whose detail is not
                             NULL, and rejection_detail, that rule's detail (NULL for a clean record)
    duplicate_record_detail(key, partition_by, other_rules, same=partition_by, label=key)
                             the column duplicate_record_detail: of the copies of a record (same
                             partition_by), the first one (lowest key) that passes other_rules survives;
                             each later copy is 'duplicate of <label> <its key> (same <same>)'. A copy that
                             fails another rule may get a detail too, but never shows it: duplicate_record
                             is the last rule, after the one it fails.
    duplicate_row_detail(partition_by, other_rules, same)
                             the same for a file drop's rows, whose order is file then row: the first copy
                             that passes other_rules survives; each later passing copy is 'duplicate of
                             <file>:<row> (same <same>)'.
-#}

{% macro passes_rules(rules) -%}
    coalesce(
    {%- for rule in rules %}
        {{ rule }}_detail{{ ',' if not loop.last }}
    {%- endfor %}
    ) is null
{%- endmacro %}

{% macro rejection(rules) -%}
    case
    {%- for rule in rules %}
        when {{ rule }}_detail is not null then '{{ rule }}'
    {%- endfor %}
    end as rejection_reason,

    coalesce(
    {%- for rule in rules %}
        {{ rule }}_detail{{ ',' if not loop.last }}
    {%- endfor %}
    ) as rejection_detail
{%- endmacro %}

{% macro duplicate_record_detail(key, partition_by, other_rules, same=none, label=none) -%}
    {%- set survivor -%}
        min(case when {{ passes_rules(other_rules) }} then {{ key }} end) over (partition by {{ partition_by }})
    {%- endset -%}
    case
        when {{ key }} > {{ survivor }}
            then concat('duplicate of {{ label or key }} ', {{ survivor }}, ' (same {{ same or partition_by }})')
    end as duplicate_record_detail
{%- endmacro %}

{% macro duplicate_row_detail(partition_by, other_rules, same) -%}
    {%- set row_key = "concat(_source_file, ':', _source_row)" -%}
    {%- set survivor -%}
        first_value(case when {{ passes_rules(other_rules) }} then {{ row_key }} end) over (
            partition by {{ partition_by }}
            order by {{ passes_rules(other_rules) }} desc, _source_file asc, _source_row asc
        )
    {%- endset -%}
    case
        when {{ passes_rules(other_rules) }} and {{ row_key }} != {{ survivor }}
            then concat('duplicate of ', {{ survivor }}, ' (same {{ same }})')
    end as duplicate_record_detail
{%- endmacro %}
