"""Sphinx extension for the minsym book.

1. nbdev markup is invisible in the book: code cells marked `#| hide` or
   `#| default_exp` are removed (kept in the doctree machinery through the
   `remove-cell` tag, so their glued values still reach the prose), and every
   other `#|` directive line is stripped from the code that is shown.
2. The book renders its equations with no network: MathJax 3 is copied at
   build time from the `django-static-mathjax` wheel into `_static/mathjax`.
"""
import json
import shutil
from pathlib import Path

HIDING = {'hide', 'default_exp'}  # directives whose whole cell stays out of the book
INPUT_HIDING = {'echo: false'}
OUTPUT_HIDING = {'output: false'}


def _directives(lines):
    return [l[3:].strip() for l in lines if l.startswith('#|')]


def _rewrite_cell(cell):
    src = cell['source'] if isinstance(cell['source'], str) else ''.join(cell['source'])
    lines = src.splitlines(keepends=True)
    found = _directives(lines)
    tags = cell.setdefault('metadata', {}).setdefault('tags', [])
    names = {d.split()[0] if d else '' for d in found}
    if names & HIDING: tags.append('remove-cell')
    if set(found) & INPUT_HIDING: tags.append('remove-input')
    if set(found) & OUTPUT_HIDING: tags.append('remove-output')
    cell['source'] = ''.join(l for l in lines if not l.startswith('#|')).lstrip('\n')


def strip_nbdev_markup(app, docname, source):
    """`source-read` handler: rewrite a notebook's JSON before myst-nb parses it."""
    if not str(app.env.doc2path(docname)).endswith('.ipynb'): return
    nb = json.loads(source[0])
    for cell in nb.get('cells', []):
        if cell.get('cell_type') == 'code': _rewrite_cell(cell)
    source[0] = json.dumps(nb)


def copy_mathjax(app, exception):
    """`build-finished` handler: ship MathJax's browser files with the HTML."""
    if exception is not None or app.builder.format != 'html': return
    import mathjax  # the django-static-mathjax wheel: MathJax 3 as package data
    src = Path(mathjax.__file__).parent / 'static' / 'mathjax' / 'es5'
    dst = Path(app.outdir) / '_static' / 'mathjax'
    if dst.exists(): shutil.rmtree(dst)
    shutil.copytree(src, dst)


def setup(app):
    app.connect('source-read', strip_nbdev_markup)
    app.connect('build-finished', copy_mathjax)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
