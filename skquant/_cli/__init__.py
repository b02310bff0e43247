"""The ``skquant`` command line: quantize image files, one by one or in batches.

``main(argv)`` parses the command line (``_parser``) into a plan: the inputs
(``_inputs``: files, folders, globs, sample photos), where each result goes
and the palette settings (``_planning``); then runs it (``_running``): one
palette per image, or one shared palette for all of them
(``--shared-palette``, ``--animate``), reporting as it goes (``_report``).
Failures of single inputs are reported as one line each and give exit
status 1; problems with the command line itself give status 2.

The console script ``skquant`` and ``python -m skquant`` call :func:`main`.
"""

from skquant._cli._inputs import expand_inputs, load_sample, read_source
from skquant._cli._parser import UsageError, build_parser
from skquant._cli._planning import (
    InputIndex,
    Settings,
    check_output_path,
    endangered_inputs,
    in_option_names,
    plan_outputs,
)
from skquant._cli._report import printable
from skquant._cli._running import main

__all__ = [
    "InputIndex",
    "Settings",
    "UsageError",
    "build_parser",
    "check_output_path",
    "endangered_inputs",
    "expand_inputs",
    "in_option_names",
    "load_sample",
    "main",
    "plan_outputs",
    "printable",
    "read_source",
]
