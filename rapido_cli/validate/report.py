"""Machine renderings of a validation :class:`~rapido_cli.validate.Report`, one class per format.

In the manner of pip-audit's ``_format/``: an :class:`OutputFormat` enum names the format, and
:func:`formatter` returns the object whose ``render(report)`` gives the whole document as text.

* ``json``: the documented ``validate --json`` document.
* ``github``: GitHub Actions workflow commands, one ``::error file=F,line=L,title=PATH::message``
  (or ``::warning``) per problem, escaped by GitHub's rules, so problems show on the pull request.
* ``junit``: JUnit XML, one ``<testsuite>`` per input file and one ``<testcase>`` per problem (a
  file without problems gets one passing case), for CI systems that show test reports.

The human text report is drawn by the CLI (it needs a console); nothing here prints.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from rapido_cli.text import inert

if TYPE_CHECKING:
    from rapido_cli.validate import FileProblem, Report

__all__ = ["GithubFormat", "JsonFormat", "JunitFormat", "OutputFormat", "ReportFormat", "formatter"]


class OutputFormat(StrEnum):
    """``validate --output-format``: ``text`` is the CLI's own; the others are documents."""

    text = "text"
    json = "json"
    github = "github"
    junit = "junit"


class ReportFormat(Protocol):
    """Renders a whole report as one document."""

    def render(self, report: Report) -> str:
        """The document, ending with a newline."""
        ...


class JsonFormat:
    """The ``--json`` document: indented for a person at a terminal, one compact line otherwise."""

    def __init__(self, *, pretty: bool = False) -> None:
        self.pretty = pretty

    def render(self, report: Report) -> str:
        """``{"valid", "files", "events", "problems": [...], ...}``."""
        if self.pretty:
            return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
        return json.dumps(report.to_json(), separators=(",", ":"), ensure_ascii=False) + "\n"


def github_data(text: str) -> str:
    """Escape a workflow command's message (GitHub: ``%``, ``\\r``, ``\\n``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """Escape a workflow command's property value (the message rules plus ``:`` and ``,``)."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


#: Problems of standard input have no file to point at.
_NO_FILE = frozenset({"-", "<stdin>"})


class GithubFormat:
    """GitHub Actions annotations, one line per problem (``::error`` or ``::warning``)."""

    def render(self, report: Report) -> str:
        """One workflow command per problem, and one for problems not shown."""
        lines = [self._line(p) for p in report.problems]
        if report.omitted:
            more = f"{report.omitted} more problems not shown (raise --max-problems)"
            lines.append(f"::warning title=rapido validate::{more}")
        return "".join(line + "\n" for line in lines)

    @staticmethod
    def _line(p: FileProblem) -> str:
        props: list[str] = []
        if p.file not in _NO_FILE:
            props.append(f"file={github_property(inert(p.file))}")
        if p.line > 0:
            props.append(f"line={p.line}")
        props.append(f"title={github_property(inert(p.path or 'event'))}")
        # inert() first: foreign text stays on one line and shows its control characters.
        message = github_data(inert(p.message))
        return f"::{'error' if p.severity == 'error' else 'warning'} {','.join(props)}::{message}"


#: Characters XML 1.0 cannot hold at all, even escaped (controls are made visible by inert()).
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` safe for an XML 1.0 document: controls shown as ``\\x1b``, non-characters as ``\\uXXXX``."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", inert(text))


class JunitFormat:
    """JUnit XML: one testsuite per file, one testcase per problem (warnings pass, with their text)."""

    def render(self, report: Report) -> str:
        """The XML document (UTF-8 declaration included)."""
        import xml.etree.ElementTree as ET

        root = ET.Element("testsuites", name="rapido validate")
        by_file: dict[str, list[FileProblem]] = {}
        for p in report.problems:
            by_file.setdefault(p.file, []).append(p)
        total = failures = errors = 0
        for f in report.files:
            suite = ET.SubElement(root, "testsuite", name=xml_text(f.file))
            cases = fails = errs = 0
            problems = sorted(by_file.get(f.file, []), key=lambda p: p.line)
            for p in problems:
                cases += 1
                where = f"{f.file}:{p.line}" if p.line else f.file
                case = ET.SubElement(
                    suite,
                    "testcase",
                    classname=xml_text(f"rapido.validate.{f.file}"),
                    name=xml_text(f"{where}: {p.path or 'event'}"),
                    file=xml_text(f.file),
                )
                if p.line:
                    case.set("line", str(p.line))
                text = xml_text(f"{where}: {p.path or 'event'}: {p.severity}: {p.message}")
                if not f.readable and p.line == 0:
                    errs += 1
                    ET.SubElement(case, "error", type="unreadable", message=xml_text(p.message)).text = text
                elif p.severity == "error":
                    fails += 1
                    ET.SubElement(case, "failure", type="error", message=xml_text(p.message)).text = text
                else:
                    ET.SubElement(case, "system-out").text = text
            if not problems:
                cases += 1
                ET.SubElement(
                    suite,
                    "testcase",
                    classname=xml_text(f"rapido.validate.{f.file}"),
                    name=xml_text(f"{f.file}: {f.events} event{'s' if f.events != 1 else ''}, no problems"),
                    file=xml_text(f.file),
                )
            suite.set("tests", str(cases))
            suite.set("failures", str(fails))
            suite.set("errors", str(errs))
            suite.set("skipped", "0")
            total, failures, errors = total + cases, failures + fails, errors + errs
        if report.omitted:
            suite = ET.SubElement(root, "testsuite", name="rapido validate", tests="1", failures="1", errors="0")
            suite.set("skipped", "0")
            case = ET.SubElement(suite, "testcase", classname="rapido.validate", name="problems not shown")
            message = f"{report.omitted} more problems not shown (raise --max-problems)"
            ET.SubElement(case, "failure", type="omitted", message=message).text = message
            total, failures = total + 1, failures + 1
        root.set("tests", str(total))
        root.set("failures", str(failures))
        root.set("errors", str(errors))
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def formatter(fmt: OutputFormat | str, *, pretty: bool = False) -> ReportFormat:
    """The renderer of ``fmt`` (``json``, ``github`` or ``junit``); ``text`` belongs to the CLI."""
    chosen = OutputFormat(fmt)
    if chosen is OutputFormat.json:
        return JsonFormat(pretty=pretty)
    if chosen is OutputFormat.github:
        return GithubFormat()
    if chosen is OutputFormat.junit:
        return JunitFormat()
    raise ValueError("the text report is drawn by the CLI (it needs a console)")
