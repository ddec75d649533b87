#!/usr/bin/env python3
"""Fails when the modules of a crate's src/ import each other in a cycle.

Reads every `crate::...` and `super::...` path in the crate's .rs files (use lines and paths
written inline; items marked `#[cfg(test)]` are left out), resolves each to the module
file it names, and builds, for every folder, the graph of its children: an edge from child A to
child B when anything under A names anything under B. A folder's own mod.rs and its children
may name each other (the parent owns them); siblings may not do so both ways, directly or
around a loop. Any cycle is printed with one example reference per edge, and the exit code is 1.

Usage: scripts/check_layers.py [SRC_DIR ...]   (default: node/src)
"""

import os
import re
import sys
from collections import defaultdict

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
INLINE = re.compile(r"\b(crate|super)((?:::" + IDENT + r")+)")


def module_files(src):
    """Maps module path tuples to files: ('auth', 'userpass') -> auth/userpass.rs."""
    mods = {}
    for dirpath, _, files in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        parts = () if rel == "." else tuple(rel.split(os.sep))
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            if f in ("lib.rs", "main.rs") and not parts:
                mods[()] = path
            elif f == "mod.rs":
                mods[parts] = path
            else:
                mods[parts + (f[:-3],)] = path
    return mods


def strip_tests_and_comments(text):
    """Drops line comments and every item marked `#[cfg(test)]` (a `mod tests { ... }` block by
    its braces, or a one-line `mod`/`use`): test code may reach anywhere."""
    lines = [re.sub(r"//.*", "", line) for line in text.splitlines()]
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip().startswith("#[cfg(test)]"):
            i += 1
            while i < len(lines) and lines[i].strip().startswith("#["):
                i += 1  # further attributes on the same item
            depth, opened = 0, False
            while i < len(lines):
                depth += lines[i].count("{") - lines[i].count("}")
                opened = opened or "{" in lines[i]
                i += 1
                if (opened and depth <= 0) or (not opened and lines[i - 1].rstrip().endswith(";")):
                    break
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]; `self` and globs end the path."""
    tree = re.sub(r"\s+as\s+" + IDENT, "", tree)
    tree = re.sub(r"\s+", "", tree)

    def parse(s, i):
        # returns (list of paths, index after)
        prefix = ""
        while i < len(s) and s[i] not in ",}":
            if s[i] == "{":
                inner, i = parse_group(s, i + 1)
                return [prefix + p for p in inner], i
            prefix += s[i]
            i += 1
        return [prefix], i

    def parse_group(s, i):
        paths = []
        while i < len(s) and s[i] != "}":
            p, i = parse(s, i)
            paths.extend(p)
            if i < len(s) and s[i] == ",":
                i += 1
        return paths, i + 1

    paths, _ = parse(tree, 0)
    return [p.replace("::self", "").rstrip(":").replace("::*", "") for p in paths]


def references(text):
    """Every crate- or super-relative path the text names, as strings starting with the root."""
    refs = []
    for m in re.finditer(r"\buse\s+((?:crate|super)\b[^;]*);", text, re.S):
        refs.extend(expand_use_tree(m.group(1)))
    for m in INLINE.finditer(re.sub(r"\buse\s+[^;]*;", "", text, flags=re.S)):
        refs.append(m.group(1) + m.group(2))
    return refs


def resolve(ref, here, mods):
    """The longest module path that `ref`, written in module `here`, names."""
    parts = ref.split("::")
    if parts[0] == "crate":
        base, rest = (), parts[1:]
    else:
        base, rest = here, parts
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    target = tuple(base) + tuple(p for p in rest if p)
    while target and target not in mods:
        target = target[:-1]
    return target


def check(src):
    mods = module_files(src)
    # edges between modules, with one example each
    edges = {}
    for mod, path in mods.items():
        with open(path, encoding="utf-8") as fh:
            text = strip_tests_and_comments(fh.read())
        for ref in references(text):
            target = resolve(ref, mod, mods)
            if target != mod:
                edges.setdefault((mod, target), ref)

    cycles = []
    folders = {m for m in mods if os.path.basename(mods[m]) in ("mod.rs", "lib.rs", "main.rs")}
    for folder in sorted(folders):
        depth = len(folder)
        graph = defaultdict(set)
        example = {}
        for (a, b), ref in edges.items():
            if a[:depth] != folder or b[:depth] != folder:
                continue
            if len(a) == depth or len(b) == depth:
                continue  # the folder's own mod.rs and its children
            ca, cb = a[depth], b[depth]
            if ca != cb:
                graph[ca].add(cb)
                example.setdefault((ca, cb), f"{'::'.join(a)} -> {ref}")
        for scc in strongly_connected(graph):
            if len(scc) > 1:
                cycles.append((folder, scc, graph, example))

    for folder, scc, graph, example in cycles:
        where = "::".join(folder) or "crate"
        print(f"cycle among children of {where}: {', '.join(sorted(scc))}")
        for a in sorted(scc):
            for b in sorted(graph[a] & scc):
                print(f"    {a} -> {b}   e.g. {example[(a, b)]}")
    return len(cycles)


def strongly_connected(graph):
    """Tarjan's algorithm, iterative."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = [0]
    nodes = set(graph) | {b for bs in graph.values() for b in bs}
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                scc = set()
                while True:
                    n = stack.pop()
                    on_stack.discard(n)
                    scc.add(n)
                    if n == node:
                        break
                result.append(scc)
    return result


def main():
    srcs = sys.argv[1:] or ["node/src"]
    total = sum(check(s) for s in srcs)
    if total:
        print(f"{total} module cycle(s): a lower module imports a higher one")
        return 1
    print(f"module layers: no cycles in {', '.join(srcs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
