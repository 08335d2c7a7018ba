"""Reads the public API of etcdc from its headers and its linker version script.

Shared by the ABI tests and scripts/gen-symbol-map.py.
"""

import re

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_DIRECTIVE = re.compile(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", re.M)
_DECL = re.compile(r"\bETCD_API\b([^;{}]*?)\(")
_IDENT = re.compile(r"[A-Za-z_]\w*")
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]', re.M)


def strip_comments(text):
    return _COMMENT.sub(" ", text)


def declared_functions(path):
    """Names of the functions a header declares with ETCD_API."""
    with open(path, encoding="utf-8") as f:
        text = strip_comments(f.read())
    text = _DIRECTIVE.sub(" ", text)
    names = []
    for m in _DECL.finditer(text):
        idents = _IDENT.findall(m.group(1))
        if not idents:
            raise ValueError(f"{path}: cannot find the name in 'ETCD_API{m.group(1)}('")
        names.append(idents[-1])
    return names


def includes(path):
    """(delimiter, name) of every #include in a header."""
    with open(path, encoding="utf-8") as f:
        return _INCLUDE.findall(strip_comments(f.read()))


def parse_version_script(path):
    """Returns ([(node, [global names])], problems) for a GNU ld version script."""
    with open(path, encoding="utf-8") as f:
        text = strip_comments(f.read())
    text = re.sub(r"#[^\n]*", " ", text)
    nodes = []
    problems = []
    pos = 0
    node_re = re.compile(r"\s*([A-Za-z_][\w.]*)?\s*\{(.*?)\}\s*([A-Za-z_][\w.]*)?\s*;", re.S)
    while True:
        rest = text[pos:]
        if not rest.strip():
            break
        m = node_re.match(text, pos)
        if not m:
            problems.append(f"{path}: cannot parse the version script near: {rest.strip()[:60]!r}")
            break
        pos = m.end()
        node, body = m.group(1) or "", m.group(2)
        names = []
        scope = None
        for item in body.split(";"):
            item = item.strip()
            sm = re.match(r"(global|local)\s*:\s*(.*)", item, re.S)
            if sm:
                scope, item = sm.group(1), sm.group(2).strip()
            if not item:
                continue
            if scope == "local":
                if item != "*":
                    problems.append(f"{path}: node {node}: unexpected local entry {item!r}")
                continue
            if scope is None:
                problems.append(f"{path}: node {node}: {item!r} is outside global:/local:")
                continue
            if re.search(r"[*?\[]", item) or item.startswith("extern"):
                problems.append(f"{path}: node {node}: {item!r} is a pattern; list exported names one by one")
                continue
            if not _IDENT.fullmatch(item):
                problems.append(f"{path}: node {node}: {item!r} is not a C identifier")
                continue
            names.append(item)
        nodes.append((node, names))
    return nodes, problems
