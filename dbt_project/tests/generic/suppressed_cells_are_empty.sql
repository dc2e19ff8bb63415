{#- A suppressed cell shows no figure, and a published one is about enough citizens. -#}
{% test suppressed_cells_are_empty(model, measures) %}
select *
from {{ model }}
where (is_suppressed and ({% for m in measures %}{{ m }} is not null{{ " or " if not loop.last }}{% endfor %}))
   or (not is_suppressed and n_citizens < {{ var('min_cell_citizens') }})
{% endtest %}
