"""What a notebook accepts: the names in its cell tagged ``parameters``, read the way Papermill reads them."""

from __future__ import annotations

import functools
from pathlib import Path


def declared_parameters(path: Path) -> tuple[str, ...]:
    """The parameter names of the notebook at ``path``, in cell order.

    FileNotFoundError or ValueError with a message that says what to do.
    """
    if not path.is_file():
        raise FileNotFoundError(f"notebook {path} does not exist; add it, or fix the path (relative to the project root)")
    stat = path.stat()
    return _inspect(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _inspect(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    # Keyed on mtime and size: a notebook edited while a scheduler runs is read again.
    import papermill

    try:
        names = tuple(papermill.inspect_notebook(path))
    except Exception as err:  # papermill raises its own and nbformat's errors for an unreadable file
        raise ValueError(f"notebook {path} cannot be read as a notebook: {err}") from None
    if not names:
        raise ValueError(f"notebook {path} has no cell tagged 'parameters'; tag the cell that sets its inputs")
    return names
