"""The README works as written.

* Every ```python block runs alone: a fresh interpreter, an empty working directory,
  nothing from the other blocks. What it prints is exactly the ```text block that
  follows it (the README's convention: a python block followed by a text block shows
  its output; a python block with none prints nothing), and it writes nothing to stderr
  (no warnings).
* The Quickstart's commands are the ones .ci/run runs.
* The name-clash section's claim holds: a mixed HIPS/tapegrad ``autograd`` folder fails
  at import with an error that says how to repair it, the repair the README gives.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TEXT = README.read_text()
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


def blocks():
    """(language, code, line number, start, end) of every fenced block, in order."""
    return [(match[1], match[2], TEXT.count("\n", 0, match.start()) + 1, match.start(),
             match.end()) for match in FENCE.finditer(TEXT)]


def examples():
    """(code, expected output, line) of every python block; the output is the text block
    right after it (only blank lines between), or '' when there is none."""
    found, listing = [], blocks()
    for (language, code, line, _, end), after in zip(listing, listing[1:] + [None]):
        if language != "python":
            continue
        follows = after is not None and after[0] == "text" and not TEXT[end:after[3]].strip()
        found.append((code, after[1] if follows else "", line))
    return found


EXAMPLES = examples()


def _clean(output):
    return "\n".join(line.rstrip() for line in output.strip("\n").splitlines())


def _environment(**extra):
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("PYTEST", "HYPOTHESIS"))}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in environment.get("PYTHONPATH", "").split(os.pathsep) if p])
    environment.update(extra)
    return environment


def test_readme_has_examples_with_shown_output():
    assert len(EXAMPLES) >= 6
    assert sum(1 for _, expected, _ in EXAMPLES if expected) >= 5


@pytest.mark.parametrize("code, expected, line", EXAMPLES,
                         ids=[f"line{line}" for _, _, line in EXAMPLES])
def test_readme_example_runs_alone_and_prints_what_the_readme_shows(code, expected, line,
                                                                     tmp_path):
    script = tmp_path / "example.py"
    script.write_text(code)
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=_environment(),
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"README.md:{line} failed:\n{run.stderr}"
    assert run.stderr == "", f"README.md:{line} wrote to stderr:\n{run.stderr}"
    assert _clean(run.stdout) == _clean(expected), (
        f"README.md:{line} printed\n{run.stdout}\nbut the README shows\n{expected}")


def test_training_example_reports_held_out_accuracy_with_all_randomness_seeded():
    (code,) = [code for code, _, _ in EXAMPLES if "load_digits" in code]
    assert "ag.manual_seed(" in code and "np.random.default_rng(" in code
    assert "np.random.permutation" not in code and "np.random.rand" not in code
    assert "held-out accuracy" in code


def _quickstart_commands():
    section = TEXT[TEXT.index("## Quickstart"):]
    (code,) = [code for language, code, *_ in blocks() if language == "bash"
               and code in section[:section.index("\n## ", 3)]]
    return [line.split("#")[0].strip() for line in code.splitlines() if line.split("#")[0].strip()]


def test_ci_runs_the_quickstart_commands_as_written():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    commands = _quickstart_commands()
    assert "pytest" in commands and 'pip install -e ".[dev]"' in commands
    for command in commands:
        assert any(line == command or line.startswith(command + " ") for line in ci_lines), (
            f"the README's `{command}` is not run by .ci/run")
    assert "pytest" in ci_lines  # exactly as the README spells it, no python -m


def test_readme_states_the_python_versions_ci_tests():
    ci = (ROOT / ".ci" / "run").read_text()
    for version in ("3.10", "3.13"):
        assert f"python_for {version}" in ci
        assert version in TEXT[:TEXT.index("## Ten lines")]
    assert 'requires-python = ">=3.10"' in (ROOT / "pyproject.toml").read_text()


def test_code_lines_and_table_rows_fit_in_120_columns():
    lines = [line for _, code, *_ in blocks() for line in code.splitlines()]
    lines += [line for line in TEXT.splitlines() if line.startswith("|")]
    wide = [line for line in lines if len(line) > 120]
    assert not wide, wide


# ---------------------------------------------------------------------------
# The name clash with HIPS autograd.
# ---------------------------------------------------------------------------

PACKAGE = ROOT / "autograd"
HIPS_FILES = {  # a few of HIPS autograd's own modules, as pip would leave them beside ours
    "wrap_util.py": "def unary_to_nary(unary_operator):\n    return unary_operator\n",
    "differential_operators.py": "from autograd.wrap_util import unary_to_nary\n",
    "numpy/__init__.py": "from autograd.numpy import numpy_vjps\n",
    "numpy/numpy_vjps.py": "# defvjp(anp.exp, lambda ans, x: lambda g: ans * g)\n",
}


def _site_packages(tmp_path, hips=False, remove=()):
    """A copy of our package in tmp_path/site-packages/autograd, maybe mixed with HIPS's."""
    site = tmp_path / "site-packages"
    shutil.copytree(PACKAGE, site / "autograd", ignore=shutil.ignore_patterns("__pycache__"))
    for name in remove:
        (site / "autograd" / name).unlink()
    if hips:
        for name, source in HIPS_FILES.items():
            path = site / "autograd" / name
            path.parent.mkdir(exist_ok=True)
            path.write_text(source)
    return site


def _import_autograd(site):
    # -S: no site module, so no .pth file runs, and with it no editable-install finder
    # that would serve autograd's submodules from this checkout. sys.path is the copy
    # first, then the interpreter's site-packages for NumPy: as if tapegrad were installed
    # there, not in editable mode.
    code = "import autograd; print(autograd.__file__)"
    paths = [str(site)] + list(dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib")))
    return subprocess.run([sys.executable, "-S", "-c", code], cwd=site, capture_output=True,
                          text=True, timeout=300,
                          env=_environment(PYTHONPATH=os.pathsep.join(paths)))


def test_a_clean_copy_of_the_package_imports(tmp_path):
    site = _site_packages(tmp_path)
    run = _import_autograd(site)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(site / "autograd" / "__init__.py")


def test_hips_files_beside_ours_fail_at_import_saying_how_to_repair(tmp_path):
    site = _site_packages(tmp_path, hips=True)
    run = _import_autograd(site)
    assert run.returncode != 0 and "ImportError: " in run.stderr, run.stderr
    error = run.stderr.strip().splitlines()
    message = run.stderr[run.stderr.index("ImportError: "):]
    assert error[-1].startswith("Keep HIPS autograd"), run.stderr
    assert str(site / "autograd") in message
    assert "HIPS autograd" in message and "wrap_util.py" in message
    assert "numpy/numpy_vjps.py" in message
    assert "pip uninstall autograd tapegrad" in message and "pip install -e ." in message


def test_missing_modules_fail_at_import_saying_how_to_repair(tmp_path):
    site = _site_packages(tmp_path, remove=["tensors.py", "tape.py"])
    run = _import_autograd(site)
    assert run.returncode != 0 and "ImportError: " in run.stderr, run.stderr
    message = run.stderr[run.stderr.index("ImportError: "):]
    assert "tapegrad's own modules tape.py, tensors.py are missing" in message
    assert "pip uninstall autograd tapegrad" in message


def test_readme_documents_the_clash_at_the_top_with_the_same_repair():
    top = TEXT[:TEXT.index("## Quickstart")]
    assert "HIPS autograd" in top and "#name-clash-with-hips-autograd" in top
    section = TEXT[TEXT.index("## Name clash with HIPS autograd"):]
    assert "pip uninstall autograd tapegrad" in section and "pip install -e ." in section
    from autograd import _installation

    message = _installation.message("/somewhere/autograd", [], ["wrap_util.py"])
    assert "pip uninstall autograd tapegrad" in message
