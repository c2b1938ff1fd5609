#!/usr/bin/env python3
"""Fails when the project's own #include "dir/name.h" lines form a cycle.

Two graphs are checked, both over the sources outside tests/, bench/ and
build trees:
  units:   a unit is dir/name (name.c and name.h together); unit A depends on
           unit B when a file of A includes B's header. A cycle here is a
           loop such as "applier.c includes node.h, node.c includes fsm.h,
           fsm.c includes applier.h". A header with no .c of its name (a
           module's private gw_priv.h, a leaf of types) holds no code: it is
           see-through, so including it means depending on what it includes.
  folders: chain, consensus, replica, ...; a cycle here means two folders
           call each other.
Usage: scripts/check_includes.py [SOURCE_ROOT]   (exit 0: no cycle)
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/([A-Za-z0-9_]+)\.h"', re.M)
SKIP = {"tests", "bench", "docs", "scripts", ".git"}


def graphs(root):
    units, folders, code = {}, {}, set()
    for top in sorted(os.listdir(root)):
        path = os.path.join(root, top)
        if top in SKIP or top.startswith("build") or not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if not name.endswith((".c", ".h")):
                continue
            unit = f"{top}/{name[:-2]}"
            if name.endswith(".c"):
                code.add(unit)
            with open(os.path.join(path, name), encoding="utf-8") as f:
                text = f.read()
            for d, h in INCLUDE.findall(text):
                dep = f"{d}/{h}"
                if dep != unit:
                    units.setdefault(unit, set()).add(dep)
                if d != top:
                    folders.setdefault(top, set()).add(d)
            units.setdefault(unit, set())
            folders.setdefault(top, set())
    return see_through(units, code), folders


def see_through(units, code):
    """Replaces every edge to a header-only unit by that header's own edges."""

    def deps(u, seen):
        out = set()
        for d in units.get(u, ()):
            if d in code or d not in units:
                out.add(d)
            elif d not in seen:
                seen.add(d)
                out |= deps(d, seen)
        return out

    return {u: deps(u, {u}) - {u} for u in units if u in code}


def cycles(g):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    units, folders = graphs(root)
    bad = 0
    for kind, g in (("unit", units), ("folder", folders)):
        for comp in cycles(g):
            print(f"include cycle between {kind}s: {' '.join(comp)}")
            bad += 1
    for top in sorted(folders):
        print(f"{top:10s} -> {' '.join(sorted(folders[top])) or '(nothing)'}")
    print(f"{len(units)} units, {len(folders)} folders, {bad} cycles")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
