"""Every notebook in notebooks/ runs from top to bottom without an error.

The notebooks derive results and check them numerically (their own cells compare
against the engine), so executing them is the test. They run in a fresh python3
kernel with notebooks/ as the working directory, are never written back, and write
no files outside a temporary directory.
"""

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_three_notebooks_are_there():
    names = [path.name for path in PATHS]
    assert names == [
        "01_softmax_cross_entropy.ipynb",
        "02_backprop_by_hand.ipynb",
        "03_the_tape.ipynb",
    ]


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_notebook_is_committed_with_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells, f"{path.name} has no code"
    not_run = [i for i, cell in enumerate(code_cells) if cell.execution_count is None]
    assert not not_run, f"{path.name}: code cells {not_run} were committed without running"
    errors = [output.get("ename") for cell in code_cells for output in cell.outputs
              if output.output_type == "error"]
    assert not errors, f"{path.name} was committed with errors: {errors}"


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    # The kernel inherits this environment: Hypothesis keeps its cache in tmp_path
    # instead of notebooks/.hypothesis, so running the notebooks leaves the tree clean.
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "hypothesis"))
    before = sorted(NOTEBOOKS.rglob("*"))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{path.name} failed:\n{error}", pytrace=False)
    outputs = [cell.outputs for cell in notebook.cells if cell.cell_type == "code"]
    assert any(outputs), f"{path.name} ran but printed nothing"
    created = sorted(set(NOTEBOOKS.rglob("*")) - set(before))
    assert not created, f"{path.name} wrote files into notebooks/: {created}"
