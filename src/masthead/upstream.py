"""Speed tricks that lean on libraries' private names: the one module allowed to use them.

Each saves measurable time on every build (benchmarks/README.md) and each depends on
something its library does not promise. They live here, beside the version ranges they
were checked against; pyproject.toml pins the same ranges, and tests/test_upstream.py
fails when an upgrade changes what they rely on. Then check the trick, widen the range
in both places, or drop the trick: each has a plain public fallback, named below.
"""

from __future__ import annotations

import gc
import operator
import xml.etree.ElementTree as ET
from typing import Any

from jinja2.compiler import CodeGenerator
from markupsafe import _escape_inner  # type: ignore[attr-defined]

CHECKED = {
    "markupsafe": ">=3.0,<3.1",
    "jinja2": ">=3.1,<3.2",
    "pyyaml": ">=6.0,<7",
}
"""The version ranges each trick was checked against; pyproject.toml pins the same."""


# MarkupSafe ---------------------------------------------------------------------------
# Public fallback: `str(markupsafe.escape(value))`.


def escape_text(value: Any) -> str:
    """What markupsafe.escape gives, as a plain str when `value` is one.

    Autoescaping wraps every `{{ value }}` on every page in escape(), which in MarkupSafe
    3 is a Python function around the C `_escape_inner` that also makes a Markup object,
    costing more than the escaping itself. The wrapper is of no use there: the output is
    joined into one string at once, and macro output and `{% set %}` blocks are made
    Markup by Jinja.
    """
    if type(value) is str:
        return _escape_inner(value)  # type: ignore[no-any-return]
    if hasattr(value, "__html__"):
        return value.__html__()  # type: ignore[no-any-return]
    return _escape_inner(str(value))  # type: ignore[no-any-return]


# Jinja --------------------------------------------------------------------------------
# Public fallback: Jinja's own CodeGenerator (drop `code_generator_class`).


class EscapeTextCodeGenerator(CodeGenerator):
    """Jinja's code generator, but output escaped with escape_text (a sixth of the time
    spent rendering pages). Templates that switch autoescaping on and off keep Jinja's
    own code. `_output_child_pre` is where Jinja writes the call that escapes a value."""

    def visit_Template(self, node: Any, frame: Any = None) -> None:
        self.writeline(f"from {__name__} import escape_text")
        super().visit_Template(node, frame)

    def _output_child_pre(self, node: Any, frame: Any, finalize: Any) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("escape_text(")
        if finalize.src is not None:
            self.write(finalize.src)


COMPILED_TEMPLATE_PATTERN = f"__{__name__.replace('.', '_')}_escape_text_%s.cache"
"""File names for Jinja's bytecode cache. Jinja names a compiled template by its name and
source only: code from EscapeTextCodeGenerator (which imports escape_text from this
module) and from Jinja's own, or from a masthead whose escape_text lived elsewhere, must
not meet when they share a cache folder."""


# ElementTree --------------------------------------------------------------------------
# Public fallback: none that keeps prefixes stable across fragments; ET.tostring whole.


def xml_namespace_prefixes() -> dict[str, str]:
    """ElementTree's registry (uri -> prefix), kept current by ET.register_namespace.

    Read, never written: masthead's XML writer serialises fragments of a document one at
    a time and needs the prefixes ElementTree itself would use.
    """
    return ET.register_namespace._namespace_map  # type: ignore[attr-defined, no-any-return]


# PyYAML -------------------------------------------------------------------------------
# Public fallback: leave the loader's resolver hooks alone.


class WithoutPathResolvers:
    """Mixed into a PyYAML loader (first, before the loader class) that registers no path
    resolvers: the composer's calls around every node, which would only find that out,
    cost a sixth of its time for nothing. It ignores what they return, so any C function
    that takes the same arguments and cannot fail will do, and costs less than a Python
    one (class attributes that are C functions do not bind to the instance)."""

    descend_resolver = operator.is_  # (parent node, index) -> a bool nobody reads
    ascend_resolver = gc.isenabled  # () -> likewise

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "yaml_path_resolvers", None):
            raise TypeError(f"{cls.__name__} has path resolvers: its hooks must run")
