"""Every notebook in notebooks/ runs from top to bottom, and shows what its text claims.

The notebooks derive results and check them numerically (their own cells compare
against the engine), so executing them is most of the test. On top of that, the cells
whose output *is* the point are checked, both as committed and as they come out of a
fresh run: they are tagged in the notebook (cell metadata "tags") and each tag has a
check below. They run in a fresh python3 kernel with notebooks/ as the working
directory, are never written back, and write no files outside a temporary directory.

Notebook 4 trains models for minutes; its committed outputs are the full run. Executed
here, the kernel has TAPEGRAD_NOTEBOOK_QUICK=1 and the notebook shortens its runs to a few
seconds, so its checks ask less of a fresh run than of the committed outputs.
"""

import math
import pathlib
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def _text(cell):
    """Everything a code cell printed or displayed as text."""
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.data.get("text/plain", "") + "\n")
    return "".join(parts)


def _images(cell):
    return [output for output in cell.outputs if output.output_type == "display_data"
            and "image/png" in output.data]


def check_counterexample(cell):
    """Notebook 3: Hypothesis found an input on which the buggy VJP fails, and the cell
    printed that input (not an empty line)."""
    text = _text(cell)
    assert "Hypothesis found a counterexample:" in text, text
    match = re.search(r"x = (array\(.+?\))\n", text, re.S)
    assert match and re.search(r"\d", match[1]), f"no counterexample printed:\n{text}"
    assert "gradcheck failed:" in text and "analytic" in text and "numeric" in text, text
    assert "the buggy VJP still fails on it: True" in text, text


def check_benchmark_chart(cell):
    """Notebook 1: the committed softmax_ce results were found and drawn."""
    text = _text(cell)
    assert "No full softmax_ce results" not in text
    assert len(_images(cell)) == 1, "the chart was not drawn"
    cases = re.findall(r"^(\d+x\d+ float(?:32|64)) +composed / fused = (\d+\.\d+)", text, re.M)
    assert len(cases) == 8 and all(float(ratio) > 0 for _, ratio in cases), text


def check_timing(cell):
    """Notebook 1: the quick timing printed every batch size and drew its two panels."""
    text = _text(cell)
    for n in (16, 64, 256, 1024, 4096):
        assert re.search(rf"N = +{n}: fused .* composed / fused = +\d", text), text
    assert len(_images(cell)) == 1


def check_custom_primitive(cell):
    """Notebook 3: a primitive made with autograd.extend passes gradcheck, its buggy twin
    fails it, and its VJP differentiates again (softplus'' (0) = sigmoid'(0) = 1/4)."""
    text = _text(cell)
    assert "v0 = softplus(x)" in text, text
    assert "correct VJP: True" in text and "buggy VJP:   gradcheck failed" in text, text
    assert "second derivative at 0: 0.25" in text, text


def _quick(text):
    """Whether a notebook-4 cell's output comes from the shortened (quick) run."""
    return "quick run" in text


def check_cnn_accuracy(cell):
    """Notebook 4: the CNN's held-out accuracy and training time are stated; the full run
    (committed) reaches 98 %, the quick one is well above chance (10 %)."""
    text = _text(cell)
    match = re.search(r"CNN, (\d+) epochs \((full|quick) run\): held-out accuracy (\d\.\d+) "
                      r"\((\d+) of (\d+) right\), training time (\d+\.\d) s", text)
    assert match, text
    epochs, mode, accuracy = int(match[1]), match[2], float(match[3])
    assert int(match[4]) / int(match[5]) == pytest.approx(accuracy, abs=1e-4), text
    if mode == "full":
        assert epochs >= 20 and accuracy >= 0.98, text
    else:
        assert accuracy >= 0.5, text


def check_transformer_loss(cell):
    """Notebook 4: the transformer's held-out loss is below chance (ln 10 per token): far
    below in the full run, with near-perfect token accuracy; below in the quick one."""
    text = _text(cell)
    match = re.search(r"TinyGPT sorting 8 digits, (\d+) steps of batch \d+ \((full|quick) run\): "
                      r"held-out loss (\d+\.\d+) per token \(chance ln 10 = 2\.3026\), token "
                      r"accuracy (\d\.\d+), training time (\d+\.\d) s", text)
    assert match, text
    mode, loss, accuracy = match[2], float(match[3]), float(match[4])
    if mode == "full":
        assert loss < 0.05 and accuracy >= 0.99, text
    else:
        assert loss < 0.8 * math.log(10) and accuracy > 0.2, text


def check_samples(cell):
    """Notebook 4: greedy decoding printed prompts and outputs; the full run sorts almost
    every held-out prompt."""
    text = _text(cell)
    lines = re.findall(r"^(\d(?: \d){7}) \|  ->  (\d+(?: \d+){7})", text, re.M)
    assert len(lines) >= 6, text
    match = re.search(r"greedy decoding: (\d+\.\d)% of (\d+) held-out prompts sorted exactly",
                      text)
    assert match, text
    if "right" in text and float(match[1]) >= 90:   # full run: its shown prompts are sorted
        for prompt, output in lines[:6]:
            assert output.split() == sorted(prompt.split()), text


def check_hips_tanh(cell):
    """Notebook 3: HIPS autograd's tanh example, run unchanged, gives derivatives of order
    0 to 4 that agree with their closed forms to round-off, and draws them."""
    text = _text(cell)
    errors = re.findall(r"^order (\d): largest error against the closed form (\S+)$", text, re.M)
    assert [int(order) for order, _ in errors] == [0, 1, 2, 3, 4], text
    assert all(float(error) < 1e-12 for _, error in errors), text
    assert len(_images(cell)) == 1, "the derivatives were not drawn"


def check_compiled_code(cell):
    """Notebook 3: a compiled step equals the eager one (loss and both gradients) and its
    replayed program is printed: the forward, the backward, and the writes of .grad."""
    text = _text(cell)
    assert "compiled == eager: True True True" in text, text
    assert "def _replay" in text and "np.matmul" in text and "np.tanh" in text, text
    assert "_t0._grad = " in text and "_t1._grad = " in text, text


def check_chunking_by_hand(cell):
    """Notebook 1: the loss and the gradients for h, W and b computed by hand a block of
    rows at a time equal those of the unfused cross_entropy(h @ W.T + b) and of
    linear_cross_entropy."""
    text = _text(cell)
    assert re.search(r"^chunked == full: +True True True True$", text, re.M), text
    assert re.search(r"^chunked == linear_cross_entropy: +True True True True$", text, re.M), text


def check_chunking_memory(cell):
    """Notebook 1: linear_cross_entropy's peak memory is its block plus a little, well
    below the logits' bytes for blocks of up to a quarter of the rows, and grows with the
    block; the unfused path's peak is at least the full logits, and the by-hand loop's is
    above the engine's for the same block."""
    text = _text(cell)
    unfused = re.search(r"^  unfused ag\.cross_entropy\(h @ W\.T \+ b, t\) +peak (\d+\.\d+)x$",
                        text, re.M)
    assert unfused and float(unfused[1]) >= 1.0, text
    fused = [(float(block), float(peak)) for block, peak in re.findall(
        r"^  ag\.linear_cross_entropy, chunk_size=\S+.* block (\d+\.\d+)x +peak (\d+\.\d+)x$",
        text, re.M)]
    assert len(fused) == 4, text
    for block, peak in fused:
        assert block <= peak < block + 0.15 and peak < 0.5 * float(unfused[1]), text
        if block <= 0.25:
            assert peak < 0.5, text
    peaks = [peak for _, peak in sorted(fused)]
    assert peaks == sorted(peaks), text
    by_hand = re.search(r"^  by hand, blocks of 256 rows +block 0\.125x +peak (\d+\.\d+)x$",
                        text, re.M)
    assert by_hand and float(by_hand[1]) > dict(fused)[0.125], text   # a few blocks at once


CHECKS = {
    "03_the_tape.ipynb": {"compiled-code": check_compiled_code,
                          "counterexample": check_counterexample,
                          "custom-primitive": check_custom_primitive,
                          "hips-tanh": check_hips_tanh},
    "01_softmax_cross_entropy.ipynb": {"benchmark-chart": check_benchmark_chart,
                                       "chunking-by-hand": check_chunking_by_hand,
                                       "chunking-memory": check_chunking_memory,
                                       "timing": check_timing},
    "04_models.ipynb": {"cnn-accuracy": check_cnn_accuracy,
                        "transformer-loss": check_transformer_loss,
                        "samples": check_samples},
}


def _tagged(notebook, tag):
    return [cell for cell in notebook.cells if tag in cell.get("metadata", {}).get("tags", [])]


def _check_outputs(name, notebook):
    for tag, check in CHECKS.get(name, {}).items():
        cells = _tagged(notebook, tag)
        assert len(cells) == 1, f"{name}: expected one cell tagged {tag!r}, found {len(cells)}"
        check(cells[0])


def test_the_four_notebooks_are_there():
    names = [path.name for path in PATHS]
    assert names == [
        "01_softmax_cross_entropy.ipynb",
        "02_backprop_by_hand.ipynb",
        "03_the_tape.ipynb",
        "04_models.ipynb",
    ]


def test_the_committed_model_notebook_is_the_full_run():
    notebook = nbformat.read(NOTEBOOKS / "04_models.ipynb", as_version=4)
    first_output = _text(next(cell for cell in notebook.cells if cell.cell_type == "code"))
    assert first_output.startswith("full run;"), first_output


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
    warnings = [_text(cell) for cell in code_cells for output in cell.outputs
                if output.output_type == "stream" and output.name == "stderr"]
    assert not warnings, f"{path.name} was committed with stderr output: {warnings}"
    _check_outputs(path.name, notebook)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """path -> the notebook as a fresh kernel runs it (each executed once, on demand)."""
    cache = {}

    def run(path):
        if path not in cache:
            cache[path] = _execute(path, tmp_path_factory.mktemp(path.stem))
        return cache[path]

    return run


def _execute(path, scratch):
    # The kernel inherits this environment: Hypothesis keeps its cache in a scratch
    # folder instead of notebooks/.hypothesis, so running the notebooks leaves the tree clean.
    before = sorted(NOTEBOOKS.rglob("*"))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(scratch / "hypothesis"))
        patch.setenv("TAPEGRAD_NOTEBOOK_QUICK", "1")   # notebook 4: seconds, not minutes
        try:
            client.execute()
        except CellExecutionError as error:
            pytest.fail(f"{path.name} failed:\n{error}", pytrace=False)
    created = sorted(set(NOTEBOOKS.rglob("*")) - set(before))
    assert not created, f"{path.name} wrote files into notebooks/: {created}"
    return notebook


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_notebook_runs(path, executed):
    notebook = executed(path)
    outputs = [cell.outputs for cell in notebook.cells if cell.cell_type == "code"]
    assert any(outputs), f"{path.name} ran but printed nothing"
    stderr = [output.text for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "stream"
              and output.name == "stderr"]
    assert not stderr, f"{path.name} wrote to stderr (a warning?): {stderr}"


@pytest.mark.parametrize("path", [path for path in PATHS if path.name in CHECKS],
                         ids=lambda path: path.stem)
def test_notebook_shows_what_its_text_claims(path, executed):
    _check_outputs(path.name, executed(path))


def test_readme_says_how_to_open_the_notebooks():
    text = (NOTEBOOKS / "README.md").read_text()
    assert 'pip install -e ".[notebooks]"' in text and "jupyter lab" in text
    for name in re.findall(r"`([\w.-]+(?:/[\w.-]*)+)`", text):  # every path it names exists
        assert (NOTEBOOKS.parent / name).exists(), f"notebooks/README.md names {name}"
