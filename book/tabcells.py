"""Executed code inside framework tabs.

myst-nb runs only top-level code cells, and a tab is a directive, so a cell cannot sit
in a tab. A cell that starts with `%%tab NAME` runs in the page's namespace (an error
fails the build) and is glued under NAME as Markdown: its code, then what it
printed. The page hides the cell (tag remove-cell) and pastes it into a tab-item with

    ```{glue:md} NAME
    :format: myst
    ```

so the listing a reader sees is the code that ran, with its real output.
Load it in a page with `%load_ext tabcells` (the page runs in book/).
"""
from IPython.core.magic import register_cell_magic
from IPython.display import Markdown
from IPython.utils.capture import capture_output


def load_ipython_extension(ipython):
    @register_cell_magic
    def tab(line, cell):
        name = line.strip()
        if not name:
            raise ValueError("%%tab needs a glue name: %%tab keras-batches")
        filename = ipython.compile.cache(cell)  # in linecache, so inspect (and AutoGraph) finds the source
        with capture_output(display=False) as captured:
            exec(compile(cell, filename, "exec"), ipython.user_ns)
        captured.show()  # seen when the page is opened in Jupyter
        from myst_nb import glue

        text = f"```python\n{cell.strip()}\n```\n"
        if captured.stdout.strip():
            text += f"\n```none\n{captured.stdout.rstrip()}\n```\n"
        glue(name, Markdown(text), display=False)
