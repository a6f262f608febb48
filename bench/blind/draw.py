"""Fetch a public project's published source distribution and draw test functions from it at random.

The blind evaluation set (bench/blind/README.md) is rebuilt from the sdists named in bench/blind/cases/*.json;
no third-party code is committed. This script is the one procedure used to:

- ``fetch NAME VERSION``: download (``pip download --no-deps --no-binary :all:``) and unpack into the cache
  (``$AUDITOR_BLIND_CACHE`` or ``~/.cache/auditor-blind``); prints the unpacked root.
- ``list NAME VERSION``: every test function pytest would collect by its default naming rules
  (``test_*.py``/``*_test.py`` files, ``test*`` functions, ``test*`` methods of ``Test*`` classes), one id a line.
- ``draw NAME VERSION --n N``: a seeded random draw of N of those ids, made before anything is labelled.
  The seed is derived from the project name and the set's fixed seed, so anyone can repeat the draw.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import random
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

SET_SEED = 20261206


def cache_root() -> Path:
    return Path(os.environ.get("AUDITOR_BLIND_CACHE", Path.home() / ".cache" / "auditor-blind"))


def fetch(name: str, version: str) -> Path:
    """The unpacked sdist's top folder (downloaded once, then reused)."""
    dest = cache_root() / f"{name}-{version}"
    marker = dest / ".unpacked"
    if marker.exists():
        return Path(marker.read_text().strip())
    downloads = cache_root() / "_sdists" / f"{name}-{version}"
    downloads.mkdir(parents=True, exist_ok=True)
    if not any(downloads.iterdir()):
        subprocess.run(
            # --ignore-requires-python: only the source is read, so a project needing a newer Python still rebuilds
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", "--ignore-requires-python",
             "-d", str(downloads), f"{name}=={version}"],
            check=True,
        )
    archive = next(p for p in downloads.iterdir() if p.is_file())
    dest.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(dest)
    else:
        with tarfile.open(archive) as t:
            t.extractall(dest, filter="data")
    tops = [p for p in dest.iterdir() if p.is_dir()]
    root = tops[0] if len(tops) == 1 else dest
    marker.write_text(str(root))
    return root


def _is_test_file(path: Path) -> bool:
    return path.suffix == ".py" and (path.name.startswith("test_") or path.name.endswith("_test.py"))


def test_functions(root: Path) -> list[tuple[str, str, int]]:
    """(relative path, function id, line) for every test function, in a stable order."""
    found: list[tuple[str, str, int]] = []
    for path in sorted(root.rglob("*.py")):
        if not _is_test_file(path) or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        rel = path.relative_to(root).as_posix()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                found.append((rel, node.name, node.lineno))
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test"):
                        found.append((rel, f"{node.name}::{item.name}", item.lineno))
    return found


def draw(name: str, version: str, n: int) -> list[tuple[str, str, int]]:
    population = test_functions(fetch(name, version))
    seed = int(hashlib.sha256(f"{SET_SEED}:{name.lower()}".encode()).hexdigest()[:12], 16)
    return sorted(random.Random(seed).sample(population, min(n, len(population))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["fetch", "list", "draw"])
    parser.add_argument("name")
    parser.add_argument("version")
    parser.add_argument("--n", type=int, default=6)
    args = parser.parse_args()
    if args.command == "fetch":
        print(fetch(args.name, args.version))
    elif args.command == "list":
        for rel, func, line in test_functions(fetch(args.name, args.version)):
            print(f"{rel}::{func}:{line}")
        return 0
    else:
        population = len(test_functions(fetch(args.name, args.version)))
        print(f"# population {population}, seed from {SET_SEED}:{args.name.lower()}")
        for rel, func, line in draw(args.name, args.version, args.n):
            print(f"{rel}::{func}:{line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
