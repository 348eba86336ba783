"""One runnable example per component (`examples/<component>/__main__.py`)."""
