{#- A suppressed cell shows no figure, and a published one is about enough citizens (or, with
    `none_ok`, about none: a budget line nobody was paid on). -#}
{% test suppressed_cells_are_empty(model, measures, none_ok=false) %}
select *
from {{ model }}
where (is_suppressed and ({% for m in measures %}{{ m }} is not null{{ " or " if not loop.last }}{% endfor %}))
   or (not is_suppressed and n_citizens < {{ var('min_cell_citizens') }}{% if none_ok %} and n_citizens > 0{% endif %})
{% endtest %}
