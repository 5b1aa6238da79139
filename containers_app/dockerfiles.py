"""A Dockerfile read as the classic builder reads it, enough to judge what a build would do
before the engine gets it: its instructions with line continuations joined, comments and
parser directives skipped, and `$VAR` / `${VAR}` substituted from the build args and the
`ARG` defaults. Pure: no engine, no files."""

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
VARIABLE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
# What ADD fetches itself: a URL (http, https, ftp...) or a git repository.
REMOTE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://|git@)")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, ADD...
    arguments: str  # after substitution


def _logical_lines(text: str) -> list[str]:
    escape = "\\"
    lines, current, directives_over = [], "", False
    for raw in text.splitlines():
        stripped = raw.strip()
        if not directives_over and not current:
            found = DIRECTIVE.match(stripped)
            if found:
                if found[1].lower() == "escape" and found[2] in ("`", "\\"):
                    escape = found[2]
                continue
            directives_over = True
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith(escape):
            current += stripped[: -len(escape)] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current.strip():
        lines.append(current)
    return lines


def substituted(text: str, values: Mapping[str, str]) -> str:
    """`text` with $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alternative} replaced as the
    builder replaces them in ADD, COPY, LABEL, FROM and the like ("" when unknown)."""

    def value(found: re.Match) -> str:
        name = found[1] or found[4]
        given = values.get(name, "")
        if found[2] == "-":
            return given or found[3]
        if found[2] == "+":
            return found[3] if given else ""
        return given

    return VARIABLE.sub(value, text)


def instructions(text: str, build_args: Mapping[str, str] | None = None) -> list[Instruction]:
    """The Dockerfile's instructions, in order, with the variables substituted that the
    builder substitutes: the build args, then each ARG's default, and ENV values."""
    values: dict[str, str] = {}
    given = dict(build_args or {})
    found = []
    for line in _logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        arguments = rest.strip()
        if keyword == "ARG":
            name, equals, default = arguments.partition("=")
            name = name.strip()
            values[name] = given.get(name, substituted(default, values) if equals else "")
        elif keyword == "ENV":
            for name, value in _pairs(substituted(arguments, values)).items():
                values[name] = value
        if keyword != "RUN":  # the shell substitutes RUN's variables, at build time
            arguments = substituted(arguments, values)
        found.append(Instruction(keyword, arguments))
    return found


def _pairs(arguments: str) -> dict[str, str]:
    """`key=value ...` (or the older `key value`) of LABEL and ENV."""
    try:
        words = shlex.split(arguments)
    except ValueError:
        words = arguments.split()
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return {key: value for key, _, value in (word.partition("=") for word in words)}


def labels(found: list[Instruction]) -> dict[str, str]:
    """Every LABEL the Dockerfile sets, in all its stages."""
    result: dict[str, str] = {}
    for instruction in found:
        if instruction.keyword == "LABEL":
            result |= _pairs(instruction.arguments)
    return result


def remote_sources(found: list[Instruction]) -> list[str]:
    """The URLs and git repositories ADD would fetch (the engine fetches them itself, from
    the host's own network)."""
    sources = []
    for instruction in found:
        if instruction.keyword != "ADD":
            continue
        words = [w for w in _words(instruction.arguments) if not w.startswith("--")]
        sources += [word for word in words[:-1] if REMOTE.match(word)]
    return sources


def _words(arguments: str) -> list[str]:
    if arguments.startswith("["):
        return re.findall(r'"((?:[^"\\]|\\.)*)"', arguments)
    return arguments.split()


def base_images(found: list[Instruction]) -> list[str]:
    """The images FROM and `COPY --from=` name (the engine pulls either if it lacks it),
    without the stages the Dockerfile itself names (`AS build`, or their numbers), nor
    `scratch`."""
    stages, bases = set(), []
    for instruction in found:
        if instruction.keyword == "COPY":
            source = re.search(r"--from=(\S+)", instruction.arguments)
            image = source[1] if source else ""
            if image and image.lower() not in stages and not image.isdigit():
                bases.append(image)
            continue
        if instruction.keyword != "FROM":
            continue
        words = [w for w in instruction.arguments.split() if not w.startswith("--")]
        if not words:
            continue
        image = words[0]
        if image.lower() not in stages and image.lower() != "scratch":
            bases.append(image)
        if len(words) >= 3 and words[1].lower() == "as":
            stages.add(words[2].lower())
    return list(dict.fromkeys(bases))
