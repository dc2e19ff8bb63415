"""HTML pages from Jinja2 templates, autoescaped: a value from the data (a unit's name, a row's
key, a check's explanation) is always shown as text, never read as markup."""

import jinja2


def page_templates(package: str) -> jinja2.Environment:
    """The templates in `package`'s templates/ folder: autoescaped, refusing a name the page
    was not given (StrictUndefined), blocks without the blank lines their tags leave."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=jinja2.select_autoescape(),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
