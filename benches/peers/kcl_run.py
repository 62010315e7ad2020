#!/usr/bin/env python3
"""`kcl run FILE -D n=N`, through the KCL Python library (kcl-lib on PyPI).

The kcl CLI is a Go program whose release binaries are not on a package
registry reachable here; kcl-lib ships the same KCL runtime (Rust, as a
native extension) behind a Python API. This prints what `kcl run` prints:
the YAML result of the program.

    python3 kcl_run.py bench.k 1000
"""

import sys

from kcl_lib.api import API, Argument, ExecProgramArgs


def main() -> None:
    path = sys.argv[1]
    args = [Argument(name="n", value=sys.argv[2])] if len(sys.argv) > 2 else []
    result = API().exec_program(ExecProgramArgs(k_filename_list=[path], args=args))
    if result.err_message:
        sys.exit(result.err_message)
    sys.stdout.write(result.yaml_result)


if __name__ == "__main__":
    main()
