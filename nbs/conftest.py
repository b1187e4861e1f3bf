"""pytest configuration for `pytest --nbval nbs`.

1. nbdev_clean blanks every cell's execution count, and nbval reads a cell with no execution
   count as "never run": it skips the comparison when the cell has no stored output and fails
   ("Unrun reference cell has outputs") when it has one. Every notebook in nbs/ is stored
   executed (see `make run-nb`), so mark each code cell as run: nbval then compares all cells
   strictly, including cells that must stay silent.
2. nbval does not compare images (PNG bytes change with matplotlib's version); figures glued
   with myst-nb are stored under a papermill MIME type, which we skip in the same way.
"""
GLUED_IMAGES = ('application/papermill.record/image/png', 'application/papermill.record/image/jpeg')


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        cell = getattr(item, 'cell', None)
        if cell is None: continue
        if cell.get('cell_type') == 'code' and cell.get('execution_count') is None:
            cell['execution_count'] = 1
        nb_file = item.parent
        if hasattr(nb_file, 'skip_compare') and GLUED_IMAGES[0] not in nb_file.skip_compare:
            nb_file.skip_compare = tuple(nb_file.skip_compare) + GLUED_IMAGES
