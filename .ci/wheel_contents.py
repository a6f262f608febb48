"""Run by .ci/wheel_check in the fresh venv (``python -I``, outside the clone): ``wheel_contents.py REPO WHEEL``.

Every file of ``templates/`` and of ``server/fixture/model/`` must be in the wheel and installed where the code
reads it (``importlib.resources``), the auditor must read its templates from the installed package, and nothing
of the ``server`` extra may have come with the core install. Exit 1 with one line per problem.
"""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from importlib import resources
from pathlib import Path

#: Imports that only the server extra (or what it brings) provides.
SERVER_ONLY = ("mlx", "mlx_lm", "fastapi", "starlette", "uvicorn", "websockets", "transformers")


def main(repo: Path, wheel: Path) -> int:
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted: dict[str, tuple[str, str, Path]] = {}
    for path in sorted((repo / "templates").rglob("*")):
        if path.is_file():
            relative = path.relative_to(repo / "templates")
            wanted[f"auditor/report/templates/{relative.as_posix()}"] = ("auditor.report", "templates", relative)
    for path in sorted((repo / "server" / "fixture" / "model").iterdir()):
        if path.is_file():
            wanted[f"server/fixture/model/{path.name}"] = ("server.fixture", "model", Path(path.name))
    problems = [f"missing from the wheel: {name}" for name in wanted if name not in names]
    problems += [f"not installed: {name}" for name, (package, folder, relative) in wanted.items()
                 if not resources.files(package).joinpath(folder, *relative.parts).is_file()]
    problems += [f"installed without the server extra: {name}" for name in SERVER_ONLY if importlib.util.find_spec(name)]
    from auditor.report.base import template_loader

    loader = type(template_loader()).__name__
    if loader != "PackageLoader":
        problems.append(f"the templates are read by {loader}, not from the installed package")
    for problem in problems:
        print(f"wheel check: {problem}", file=sys.stderr)
    if not problems:
        print(f"wheel check: all {len(wanted)} template and fixture model files are in the wheel and installed")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), Path(sys.argv[2])))
