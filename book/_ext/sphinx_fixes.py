"""A local Sphinx extension (loaded from _config.yml) fixing one Sphinx 7.4 bug.

Sphinx 7.4 writes an inline script twice when an extension adds it after the builder
starts (app.add_js_file(None, body=...)): prepare_writing re-adds it from the registry
as filename '' while the builder holds it as None, so the two do not compare equal.
sphinx-thebe's `const THEBE_JS_URL = ...` then runs twice and every page logs
"Identifier 'THEBE_JS_URL' has already been declared". Storing those scripts as ''
before writing lets Sphinx's own de-duplication drop the second copy.
"""
from sphinx.builders.html._assets import _JavaScript


def _inline_scripts_as_empty_filename(app, env):
    scripts = getattr(app.builder, "_js_files", None)
    if scripts is None:
        return
    scripts[:] = [_JavaScript("", priority=js.priority, **js.attributes)
                  if isinstance(js, _JavaScript) and js.filename is None else js
                  for js in scripts]


def setup(app):
    app.connect("env-updated", _inline_scripts_as_empty_filename)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
