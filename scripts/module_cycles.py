"""Fails if a crate's modules depend on each other in a cycle (STYLE.md: modules are small and
named for what they hold; a cycle means two of them hold one concept between them).

    python3 scripts/module_cycles.py codec storage ffi cli wasm

A module is a top-level file or folder of the crate's src/; it depends on another when its code
(tests excluded) names `crate::other`. Prints each cycle found.
"""

import os
import re
import sys


def modules(crate: str) -> dict[str, set[str]]:
    src = os.path.join(crate, "src")
    text: dict[str, str] = {}
    for root, _, files in os.walk(src):
        for name in files:
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                module = os.path.relpath(path, src)[: -len(".rs")].split(os.sep)[0]
                code = open(path, encoding="utf-8").read()
                code = re.sub(r"#\[cfg\(test\)\]\s*mod tests\s*\{.*", "", code, flags=re.S)
                text[module] = text.get(module, "") + code
    graph = {m: set() for m in text}
    for module, code in text.items():
        names = re.findall(r"crate::(\w+)", code)
        for group in re.findall(r"use crate::\{([^}]*)\}", code):
            names += re.findall(r"\b(\w+)\b", group)
        graph[module] = {n for n in names if n in graph and n != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def main() -> None:
    failed = False
    for crate in sys.argv[1:]:
        for cycle in cycles(modules(crate)):
            print(f"{crate}: modules in a cycle: {' <-> '.join(cycle)}")
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
