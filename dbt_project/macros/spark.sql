{#- The Spark engine (EFFEKT_WAREHOUSE_ENGINE=spark or spark_cluster; docs/spark.md). -#}

{#- on-run-start: Spark cannot open the raw layer's DuckDB file, so effekt exports the tables the
    sources name to Parquet before the build (orchestration/warehouse/spark.py), one folder per
    table, and this registers them in the schema `raw`, so that source('raw', ...) reads the
    same rows on both engines. Tables, not views: the build's own sessions and dbt's catalogue
    see them. Dropping such a table leaves its files. Nothing on DuckDB. -#}
{% macro register_raw_sources() -%}
    {%- if execute and target.type == 'spark' %}
    {%- set folder = env_var('EFFEKT_SPARK_SOURCES_DIR', '../data/raw/spark-sources') %}
    {%- do run_query('create schema if not exists raw') %}
    {%- for node in graph.sources.values() if node.source_name == 'raw' %}
    {%- do run_query('drop table if exists raw.' ~ node.name) %}
    {%- do run_query("create table raw." ~ node.name ~ " using parquet location '" ~ folder ~ "/" ~ node.name ~ "'") %}
    {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- The contracts' column types (data_type in the YAML) are DuckDB's and PostgreSQL's names;
    Spark has the same types but calls text `string` (its `varchar` needs a length). dbt casts
    a null to each declared type to check a contract (get_empty_schema_sql), so this one name
    is translated here, and the YAML stays one for every engine. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ 'string' if type | trim | lower == 'varchar' else type }})
{%- endmacro %}

{#- Seeds on Spark as dbt-spark loads them, but with each value written as an escaped literal:
    dbt-spark's session method puts bound text into the statement unescaped, so a code list
    label with an apostrophe ("one's network") broke the statement. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) %}
    {%- set statements = [] %}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) %}
    {%- set sql %}
        insert into {{ this.render() }} values
        {% for row in chunk -%}
        ({%- for col_name in agate_table.column_names -%}
            {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
            {%- set value = row[loop.index0] -%}
            {%- if value is none -%}
                {%- set literal = 'null' -%}
            {%- elif value is sameas true or value is sameas false -%}
                {%- set literal = value | string | lower -%}
            {%- elif value is number -%}
                {%- set literal = value | string -%}
            {%- else -%}
                {%- set literal = "'" ~ (value | string | replace('\\', '\\\\') | replace("'", "\\'")) ~ "'" -%}
            {%- endif -%}
            cast({{ literal }} as {{ type }}){{ ',' if not loop.last }}
        {%- endfor -%}){{ ',' if not loop.last }}
        {%- endfor %}
    {%- endset %}
    {%- do adapter.add_query(sql, abridge_sql_log=True) %}
    {%- if loop.first %}{% do statements.append(sql) %}{% endif %}
    {%- endfor %}
    {{- return(statements[0]) }}
{% endmacro %}

{#- dbt.dateadd on Spark, with the interval in parentheses: dbt-spark multiplies it by the
    part's months unbracketed, so dateadd('year', 'budget_year - 1970', ...) added
    budget_year - 1970 * 12 months (year 0168 for 2019). -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {{ dbt.spark__dateadd(datepart, '(' ~ interval ~ ')', from_date_or_timestamp) }}
{%- endmacro %}
