"""`make mutation`: mutmut over ``operator/mpu_operator/core/`` with the fast core tests.

mutmut 3 imports the code it mutates only from ``./``, ``src/`` or ``source/``, and it
writes its ``mutants/`` tree next to the code. So this runs on a scratch copy
(``.mutation/``, gitignored, rebuilt every run) with ``operator/`` renamed ``src/``; the
real tree is never touched. The tests are ``tests/core`` (pure functions, no servers).

Scoring (the last line printed): killed / total, where
* a timeout counts as killed (the mutant made the tests hang: they noticed it),
* a crash of the test process (mutmut's "segfault") counts as killed, for the same reason,
* "suspicious" (tests finished but far slower than usual) counts as NOT killed,
* "no tests" (no core test reaches the mutated function) counts as NOT killed,
* "skipped" (``# pragma: no mutate``) is left out of the total; core has none.
Survivors are listed with their diffs in ``.mutation/survivors.txt``.

Usage: ``python tools/mutation.py [--jobs N]``. To re-test some mutants after editing a
test, run ``mutmut run 'mpu_operator.core.status*'`` inside ``.mutation/`` (after copying
the edited test into ``.mutation/mutants/tests``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRATCH = REPO / ".mutation"
TESTS = ["tests/core"]
MUTATE = "src/mpu_operator/core/*"
KILLED = {"killed", "timeout", "segfault"}
IGNORED = {"skipped"}

_IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc", ".pytest_cache")


def build_scratch() -> None:
    """Copy the code (as src/) and the tests; write a pyproject with mutmut's settings."""
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir()
    shutil.copytree(REPO / "operator", SCRATCH / "src", ignore=_IGNORE)
    shutil.copytree(REPO / "tests", SCRATCH / "tests", ignore=_IGNORE)
    (SCRATCH / "pyproject.toml").write_text(_pytest_section() + _mutmut_section())


def _pytest_section() -> str:
    """The repo's pytest settings, verbatim, so the tests run as they do in `make unit`."""
    text = (REPO / "pyproject.toml").read_text()
    match = re.search(r"^\[tool\.pytest\.ini_options\]\n(?:(?!^\[).*\n)*", text, re.M)
    if match is None:
        raise SystemExit("pyproject.toml: no [tool.pytest.ini_options] section to copy")
    return match.group(0) + "\n"


def _mutmut_section() -> str:
    return (
        "[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f'only_mutate = ["{MUTATE}"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(TESTS)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-m", "not integration"]\n'
        "use_git_change_detection = false\n"
    )


def run_mutmut(jobs: int) -> None:
    mutmut = Path(sys.executable).with_name("mutmut")
    cmd = [str(mutmut), "run", "--max-children", str(jobs)]
    # PYTHONPATH would let the tests import the real tree instead of the mutants.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = subprocess.call(cmd, cwd=SCRATCH, env=env)
    if code != 0:
        raise SystemExit(f"mutmut run failed (exit {code}); see the output above")


def collect() -> dict[str, str]:
    """Every mutant's status, read back through mutmut's own API in the scratch dir."""
    script = (
        "import json\n"
        "from mutmut.__main__ import walk_mutatable_files, SourceFileMutationData\n"
        "from mutmut.stats import status_by_exit_code\n"
        "out = {}\n"
        "for p in walk_mutatable_files():\n"
        "    m = SourceFileMutationData(path=p); m.load()\n"
        "    out.update({k: status_by_exit_code[v] for k, v in m.exit_code_by_key.items()})\n"
        "print(json.dumps(out))\n"
    )
    text = subprocess.check_output([sys.executable, "-c", script], cwd=SCRATCH)
    result: dict[str, str] = json.loads(text)
    return result


def write_survivors(statuses: dict[str, str]) -> Path:
    names = sorted(k for k, v in statuses.items() if v not in KILLED | IGNORED)
    script = (
        "import sys\n"
        "from mutmut.__main__ import find_mutant, get_diff_for_mutant\n"
        "from mutmut.stats import status_by_exit_code\n"
        "for name in sys.argv[1:]:\n"
        "    m = find_mutant(name)\n"
        "    print(f'# {name}: {status_by_exit_code[m.exit_code_by_key[name]]}')\n"
        "    print(get_diff_for_mutant(name, path=m.path))\n"
    )
    report = SCRATCH / "survivors.txt"
    with report.open("w") as out:
        subprocess.check_call([sys.executable, "-c", script, *names], cwd=SCRATCH, stdout=out)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    began = time.monotonic()
    build_scratch()
    run_mutmut(args.jobs)
    statuses = collect()
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    total = sum(n for s, n in counts.items() if s not in IGNORED)
    killed = sum(n for s, n in counts.items() if s in KILLED)
    report = write_survivors(statuses)
    score = 100.0 * killed / total if total else 0.0
    print(f"statuses: {json.dumps(counts, sort_keys=True)}")
    print(f"survivors with diffs: {report.relative_to(REPO)}")
    print(f"took {time.monotonic() - began:.0f} s with {args.jobs} jobs; "
          "timeouts count as killed, 'suspicious' and 'no tests' as survived, "
          "'skipped' not at all")
    print(f"mutation score: core {score:.1f}% ({killed}/{total})")


if __name__ == "__main__":
    main()
