"""Email templates: checked statically, rendered in Jinja2's immutable sandbox, wrapped, inlined, with a text part.

Two defences, both always on:

1. `check_template` parses the source and walks the AST before anything renders: syntax errors,
   unknown merge tags, attribute or item access other than ``attributes.<name>`` / ``loop.<index>``,
   names starting with ``_``, function calls, ``|attr``, ``namespace``/``cycler``/``range``/``self`` and
   friends, includes and macros are reported with their line number and a fix.
2. Rendering uses an `ImmutableSandboxedEnvironment` (HTML autoescaped, StrictUndefined) with no
   globals and only an allow-list of filters, so ``''.__class__`` and friends raise `SecurityError`
   even if the check were skipped.

Active content is stripped, with a warning: ``<script>`` elements, ``on*=`` event handler attributes and
``javascript:`` URLs never reach a recipient (`sanitize_html`). Mail clients drop them anyway; stripping
them here means previews, stored templates and sent mail all show what recipients get. Templates are
stripped when saved and every rendering is stripped again, so HTML from any source is covered.

Per-recipient merge tags (first_name, last_name, email, ``attributes.<name>``, unsubscribe_url)
render as the publishers' placeholders (``{{first_name}}``), so one rendering serves a whole batch
(SendGrid substitutions, Mailgun recipient variables). A tag with filters, e.g.
``{{ first_name | default("there") | title }}``, renders as its own placeholder
(``{{first_name__1}}``) and the rendering records how to compute it (`MergeVar`); the per-recipient
value is computed from the contact snapshot when the batch is filled (`RenderedEmail.recipient_values`).
``default`` applies when the value is missing *or empty* (a contact's blank first name), unlike plain
Jinja, because contacts store "" rather than nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import css_inline
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.filters import FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from campaigns.email import markdown as body_markdown
from campaigns.email.layout import BASE_LAYOUT, LAYOUT_BASE, LAYOUTS, split_content, split_layout
from campaigns.email.text import html_to_text
from publishers.base import placeholder_pattern

CONTACT_FIELDS = ("first_name", "last_name", "email")
PER_RECIPIENT = (*CONTACT_FIELDS, "unsubscribe_url")
CAMPAIGN_FIELDS = ("merchant_name", "subject", "preview_text", "content")  # content: the email campaign's body (campaigns.email.markdown)
ATTRIBUTES = "attributes"  # custom contact fields: {{ attributes.city }}
CATEGORIES = ("marketing", "transactional")
MAX_SOURCE_CHARS = 200_000

# filters that work on per-recipient tags (applied per recipient when the batch is filled)
MERGE_FILTERS = ("default", "d", "upper", "lower", "title", "capitalize", "trim")
# everything a template may use on campaign values and its own variables; `attr`, `format`, `map`, `sort`... are absent
SAFE_FILTERS = (*MERGE_FILTERS, "e", "escape", "truncate", "replace", "join", "length", "count", "first", "last", "round", "int",
                "string", "striptags", "wordcount", "center")
UNSAFE_NAMES = {"range", "lipsum", "dict", "cycler", "joiner", "namespace", "self", "caller", "varargs", "kwargs", "config", "request",
                "super"}
LOOP_ATTRS = {"index", "index0", "revindex", "revindex0", "first", "last", "length", "previtem", "nextitem", "depth", "depth0"}
DANGEROUS_ATTRS = {"mro", "gi_frame", "gi_code", "cr_frame", "f_globals", "func_globals", "im_func", "format", "format_map"}
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_UNSUBSCRIBE_HREF = re.compile(r"""href\s*=\s*(["'])\s*\{\{-?\s*unsubscribe_url\s*-?\}\}\s*\1""", re.I)
UNSUBSCRIBE_FIX = 'add <a href="{{ unsubscribe_url }}">Unsubscribe</a> (or use the base layout, whose footer has one)'


# --- active content -------------------------------------------------------------------------------

_SCRIPT_ELEMENT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.I | re.S)
_SCRIPT_TAG = re.compile(r"</?script\b[^>]*>?", re.I)  # a stray opening or closing tag
_TAG = re.compile(r"""<[a-zA-Z][^\s/>]*(?:[^>"']|"[^"]*"|'[^']*')*>""")
_HANDLER = re.compile(r"""(?<=[\s/"'}])on[a-z0-9_:-]+\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]*)""", re.I)
_SCRIPT_URL = re.compile(r"""(\b(?:href|src|action|formaction|background|xlink:href)\s*=\s*)(["']?)\s*(?:javascript|vbscript|data:text/html)[^"'>]*\2""", re.I)


def sanitize_html(html: str) -> tuple[str, list[str]]:
    """`html` without <script> elements, on*= event handlers and javascript: URLs, and a warning for each kind removed.

    Applied until nothing changes, so pieces that join up once their inside is removed (``<scr<script></script>ipt>``)
    are removed as well.
    """
    counts = {"script": 0, "handler": 0, "url": 0}

    def drop_handlers(tag: re.Match[str]) -> str:
        cleaned, n = _HANDLER.subn("", tag.group(0))
        counts["handler"] += n
        return cleaned

    def drop_url(match: re.Match[str]) -> str:
        counts["url"] += 1
        return f"{match.group(1)}{match.group(2)}#{match.group(2)}"

    previous = None
    while previous != html:
        previous = html
        html, n_elements = _SCRIPT_ELEMENT.subn("", html)
        html, n_tags = _SCRIPT_TAG.subn("", html)
        counts["script"] += n_elements + n_tags
        html = _TAG.sub(drop_handlers, html)
        html = _SCRIPT_URL.sub(drop_url, html)
    warnings = []
    if counts["script"]:
        warnings.append(f"removed {counts['script']} <script> element(s): email clients never run scripts")
    if counts["handler"]:
        warnings.append(f"removed {counts['handler']} on*= event handler attribute(s) (onclick, onerror, ...): email clients never run them")
    if counts["url"]:
        warnings.append(f"replaced {counts['url']} javascript: link(s) with #")
    return html, warnings


class TemplateProblemsError(ValueError):
    """The template has problems; `problems` lists them with line numbers and fixes."""

    def __init__(self, problems: list[Problem], what: str = "the template") -> None:
        self.problems = problems
        super().__init__(f"{what} has {len(problems)} problem(s): " + "; ".join(map(str, problems)))


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based line of the source (the subject's own line for `part == "subject"`)
    message: str
    fix: str
    part: str = "html"

    def __str__(self) -> str:
        where = "subject" if self.part == "subject" else "line"
        return f"{where} {self.line}: {self.message} (fix: {self.fix})"


def known_tags() -> str:
    return ", ".join((*PER_RECIPIENT, *CAMPAIGN_FIELDS, "attributes.<name>"))


# --- the static check ----------------------------------------------------------------------------


class _Checker:
    def __init__(self, part: str) -> None:
        self.part = part
        self.problems: list[Problem] = []
        self.assigned: set[str] = set()

    def add(self, node: nodes.Node, message: str, fix: str) -> None:
        problem = Problem(getattr(node, "lineno", 1) or 1, message, fix, self.part)
        if problem not in self.problems:
            self.problems.append(problem)

    def collect_assigned(self, tree: nodes.Template) -> None:
        for node in tree.find_all((nodes.Assign, nodes.AssignBlock, nodes.For, nodes.With)):
            targets = [node.target] if not isinstance(node, nodes.With) else node.targets
            for target in targets:
                for name in target.find_all(nodes.Name) if not isinstance(target, nodes.Name) else [target]:
                    self.assigned.add(name.name)

    def walk(self, node: nodes.Node, printed: bool = False, in_loop: bool = False) -> None:
        """`printed`: the value goes straight to the output (possibly through merge filters)."""
        if isinstance(node, (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
            self.add(node, "includes, imports and extends are not available", "keep the template self-contained; the base layout is chosen with the layout setting")
            return
        if isinstance(node, (nodes.Macro, nodes.CallBlock, nodes.Block)):
            self.add(node, f"{{% {type(node).__name__.lower()} %}} is not available in email templates", "write the HTML out where it is needed")
            return
        if isinstance(node, nodes.NSRef):
            self.add(node, "namespace attributes cannot be set", "use {% set name = ... %}")
            return
        if isinstance(node, nodes.Call):
            self.add(node, "calling functions or methods is not allowed", "print merge tags and use filters, e.g. {{ first_name | default(\"there\") }}")
            return
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                self.walk(child, printed=not isinstance(child, nodes.TemplateData), in_loop=in_loop)
            return
        if isinstance(node, nodes.For):
            self.walk(node.iter, in_loop=in_loop)
            for child in (*node.body, *node.else_):
                self.walk(child, in_loop=True)
            if node.test is not None:
                self.walk(node.test, in_loop=True)
            return
        if isinstance(node, nodes.Name):
            self.name(node, printed, in_loop)
            return
        if isinstance(node, (nodes.Getattr, nodes.Getitem)):
            self.access(node, printed, in_loop)
            return
        if isinstance(node, nodes.Filter):
            self.filter(node, printed, in_loop)
            return
        for child in node.iter_child_nodes():
            self.walk(child, in_loop=in_loop)

    def name(self, node: nodes.Name, printed: bool, in_loop: bool) -> None:
        name = node.name
        if node.ctx != "load":
            if name.startswith("_") or name in UNSAFE_NAMES or name in PER_RECIPIENT or name in CAMPAIGN_FIELDS or name == ATTRIBUTES:
                self.add(node, f"{name!r} cannot be assigned", "pick another variable name")
            return
        if name.startswith("_") or name in UNSAFE_NAMES:
            self.add(node, f"{name!r} is not available in email templates", f"use the merge tags {known_tags()}")
        elif name == "loop" and in_loop:
            self.add(node, "loop can only be used as loop.index, loop.first and the like", "write loop.index")
        elif name in self.assigned or name in CAMPAIGN_FIELDS:
            return
        elif name in PER_RECIPIENT:
            if not printed:
                self.per_recipient_misuse(node, name)
        elif name == ATTRIBUTES:
            self.add(node, "attributes must name a custom field", "write attributes.<field>, e.g. {{ attributes.city }}")
        else:
            close = difflib.get_close_matches(name, [*PER_RECIPIENT, *CAMPAIGN_FIELDS], n=1)
            hint = f"did you mean {{{{ {close[0]} }}}}? " if close else ""
            self.add(node, f"unknown merge tag {{{{ {name} }}}}", f"{hint}merge tags are {known_tags()}")

    def per_recipient_misuse(self, node: nodes.Node, name: str) -> None:
        self.add(node, f"{name} is filled per recipient at send time, so it can only be printed",
                 f"print it, optionally with merge filters ({', '.join(MERGE_FILTERS)}), e.g. {{{{ {name} | default(\"there\") }}}}, "
                 "instead of using it in {% if %}, loops or expressions")

    def access(self, node: nodes.Getattr | nodes.Getitem, printed: bool, in_loop: bool) -> None:
        if isinstance(node, nodes.Getattr):
            key: Any = node.attr
        elif isinstance(node.arg, nodes.Const):
            key = node.arg.value
        else:
            self.add(node, "item access with a computed key is not allowed", "write the key out, e.g. attributes.city")
            self.walk(node.node, in_loop=in_loop)
            return
        if isinstance(key, str) and (key.startswith("_") or key in DANGEROUS_ATTRS):
            self.add(node, f"access to {key!r} is not allowed (it reaches into Python internals)", f"use the merge tags {known_tags()}")
            return
        base = node.node
        if isinstance(base, nodes.Name) and base.name == ATTRIBUTES and base.name not in self.assigned:
            if not isinstance(key, str) or not _ATTRIBUTE_NAME.match(key):
                self.add(node, f"{key!r} is not a custom field name", "custom field names start with a letter and hold letters, digits and _")
            elif not printed:
                self.per_recipient_misuse(node, f"attributes.{key}")
            return
        if isinstance(base, nodes.Name) and base.name == "loop" and in_loop and key in LOOP_ATTRS:
            return
        if isinstance(base, nodes.Name) and base.name in self.assigned and isinstance(key, int):
            return
        self.add(node, f"access to .{key} is not allowed", "only attributes.<field> and loop.index (and the like) can be looked up")

    def filter(self, node: nodes.Filter, printed: bool, in_loop: bool) -> None:
        if node.name == "attr":
            self.add(node, "the attr filter is not allowed", f"use the merge tags {known_tags()}")
            return
        if node.name not in SAFE_FILTERS:
            self.add(node, f"the {node.name} filter is not available", f"use one of {', '.join(SAFE_FILTERS)}")
        for arg in (*node.args, *(kw.value for kw in node.kwargs)):
            self.walk(arg, in_loop=in_loop)
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            self.add(node, "*args and **kwargs are not allowed in filters", "write the arguments out")
        if node.name in MERGE_FILTERS and node.name in ("default", "d") and node.args:
            if not isinstance(node.args[0], nodes.Const):
                self.add(node, "the default must be a fixed text", 'write it in quotes, e.g. default("there")')
        if node.node is not None:
            self.walk(node.node, printed=printed and node.name in MERGE_FILTERS, in_loop=in_loop)


def _check_source(source: str, part: str) -> list[Problem]:
    if len(source) > MAX_SOURCE_CHARS:
        return [Problem(1, f"the {part} is {len(source):,} characters long", f"keep it under {MAX_SOURCE_CHARS:,}", part)]
    try:
        tree = HTML_ENV.parse(source)
    except TemplateSyntaxError as exc:
        return [Problem(exc.lineno or 1, f"syntax error: {exc.message}", "close every {{ }} and {% %} and check the tag's spelling", part)]
    checker = _Checker(part)
    checker.collect_assigned(tree)
    for child in tree.iter_child_nodes():
        checker.walk(child)
    return sorted(checker.problems, key=lambda p: p.line)


def check_template(html: str, *, category: str = "marketing", subject: str = "", layout: str = "none") -> list[Problem]:
    """Every problem of the subject and HTML, each with its line and a fix; empty when the template can be saved and sent."""
    problems: list[Problem] = []
    if category not in CATEGORIES:
        problems.append(Problem(1, f"unknown category {category!r}", f"use one of {', '.join(CATEGORIES)}"))
    if layout not in LAYOUTS:
        problems.append(Problem(1, f"unknown layout {layout!r}", f"use one of {', '.join(LAYOUTS)}"))
    if subject:
        problems.extend(_check_source(subject, "subject"))
    body_problems = _check_source(html, "html")
    problems.extend(body_problems)
    if category == "marketing" and layout != LAYOUT_BASE and not _UNSUBSCRIBE_HREF.search(html):
        problems.append(Problem(max(1, html.count("\n") + 1), "marketing email needs an unsubscribe link", UNSUBSCRIBE_FIX))
    return problems


# --- rendering -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeVar:
    """How one placeholder's value is computed from a contact snapshot: the field, then the filters in order."""

    key: str  # the placeholder name
    source: str  # "first_name" or "attributes.city"
    ops: tuple[tuple[str, str], ...] = ()  # ("default", "there"), ("title", "")

    def value(self, snapshot: Mapping[str, Any]) -> str:
        value = merge_value(_lookup(snapshot, self.source))
        for op, arg in self.ops:
            if op == "default":
                value = value or merge_value(arg)
            elif op == "upper":
                value = value.upper()
            elif op == "lower":
                value = value.lower()
            elif op == "title":
                value = value.title()
            elif op == "capitalize":
                value = value.capitalize()
            elif op == "trim":
                value = value.strip()
        return value


def merge_value(value: Any) -> str:
    # the publishers refuse values holding < or > (they would become HTML), and braces would be re-read as placeholders
    return re.sub(r"[<>{}]", "", str(value if value is not None else "")).strip()[:200]


def _lookup(snapshot: Mapping[str, Any], source: str) -> Any:
    if source in snapshot:
        return snapshot[source]
    if source.startswith(ATTRIBUTES + "."):
        return (snapshot.get(ATTRIBUTES) or {}).get(source.split(".", 1)[1])
    return None


class _Plan:
    """The placeholders one rendering produced (built while rendering, read afterwards)."""

    def __init__(self) -> None:
        self.vars: dict[str, MergeVar] = {}
        self._by_shape: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}

    def tag(self, source: str, ops: tuple[tuple[str, str], ...] = ()) -> _Tag:
        shape = (source, ops)
        key = self._by_shape.get(shape)
        if key is None:
            base = source.replace(".", "__")
            key = base if not ops else f"{base}__{sum(1 for v in self.vars.values() if v.source == source and v.ops) + 1}"
            self._by_shape[shape] = key
            self.vars[key] = MergeVar(key, source, ops)
        return _Tag(key, self, self.vars[key])


class _Tag(Markup):
    """A per-recipient merge tag while rendering: prints as ``{{key}}``; merge filters derive new tags from it.

    Its fields start with ``_`` so the sandbox refuses them to templates.
    """

    def __new__(cls, key: str, plan: _Plan, var: MergeVar) -> _Tag:
        self = super().__new__(cls, "{{" + key + "}}")
        self._plan, self._var = plan, var
        return self

    def derive(self, op: str, arg: str = "") -> _Tag:
        return self._plan.tag(self._var.source, (*self._var.ops, (op, arg)))


def _merge_filter(name: str):
    builtin = FILTERS[name]

    def apply(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, _Tag):
            if name in ("default", "d"):
                return value.derive("default", str(args[0]) if args else str(kwargs.get("default_value", "")))
            return value.derive(name)
        if name in ("default", "d"):
            # empty counts as missing: contacts store "" for a blank first name
            fallback = args[0] if args else kwargs.get("default_value", "")
            from jinja2 import Undefined

            return fallback if isinstance(value, Undefined) or not value else value
        return builtin(value, *args, **kwargs)

    return apply


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=autoescape, undefined=StrictUndefined)
    env.globals.clear()  # no range, lipsum, dict, cycler, joiner, namespace
    env.filters = {name: FILTERS[name] for name in SAFE_FILTERS if name in FILTERS}
    env.filters.update({name: _merge_filter(name) for name in MERGE_FILTERS})
    return env


HTML_ENV = _environment(autoescape=True)
TEXT_ENV = _environment(autoescape=False)
_INLINER = css_inline.CSSInliner(keep_style_tags=False)
_PLACEHOLDER = placeholder_pattern()


@dataclass(frozen=True)
class RenderedEmail:
    """Subject, HTML and text holding per-recipient placeholders (``{{first_name}}``) for the publisher to fill."""

    subject: str
    html: str
    text: str
    merge: Mapping[str, MergeVar] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # active content stripped from the HTML (see sanitize_html)

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """Custom fields the email prints (to snapshot per recipient)."""
        return tuple(sorted({v.source.split(".", 1)[1] for v in self.merge.values() if v.source.startswith(ATTRIBUTES + ".")}))

    def recipient_values(self, snapshot: Mapping[str, Any]) -> dict[str, str]:
        """The value of every placeholder but unsubscribe_url for one recipient; first/last name and email always."""
        values = {name: merge_value(_lookup(snapshot, name)) for name in CONTACT_FIELDS}
        values.update({key: var.value(snapshot) for key, var in self.merge.items()})
        return values


def merge_snapshot(first_name: str | None, last_name: str | None, email: str, attributes: Mapping[str, Any] | None,
                   rendered: RenderedEmail | None = None) -> dict[str, Any]:
    """What `email_sends.merge_values` keeps for one recipient: contact fields and the custom fields the email prints."""
    snapshot: dict[str, Any] = {"first_name": first_name or "", "last_name": last_name or "", "email": (email or "").strip()}
    names = rendered.attribute_names if rendered is not None else tuple(attributes or {})
    for name in names:
        snapshot[f"{ATTRIBUTES}.{name}"] = merge_value((attributes or {}).get(name))
    return snapshot


def has_content_slot(source: str) -> bool:
    """Whether a template prints ``{{ content }}``, the slot where an email campaign's body goes."""
    try:
        tree = HTML_ENV.parse(split_layout(split_content(source)[1])[1])
    except TemplateSyntaxError:
        return False
    return any(node.name == "content" and node.ctx == "load" for node in tree.find_all(nodes.Name))


def _context(plan: _Plan, source: str, merchant_name: str, preview_text: str, subject: str, content: str = "") -> dict[str, Any]:
    attribute_tags = {}
    for node in HTML_ENV.parse(source).find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node.node, nodes.Name) and node.node.name == ATTRIBUTES:
            key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            if isinstance(key, str) and _ATTRIBUTE_NAME.match(key):
                attribute_tags[key] = plan.tag(f"{ATTRIBUTES}.{key}")
    return {**{name: plan.tag(name) for name in CONTACT_FIELDS}, "unsubscribe_url": Markup("{{unsubscribe_url}}"),
            ATTRIBUTES: attribute_tags, "merchant_name": merchant_name, "preview_text": preview_text, "subject": subject,
            "content": Markup(content)}  # HTML made from the escaped body (campaigns.email.markdown)


def render_email(subject: str, preview_text: str, source: str, merchant_name: str, *, category: str = "marketing") -> RenderedEmail:
    """Check, render in the sandbox, wrap in the layout the source asks for, inline CSS and derive the text part.

    Raises TemplateProblemsError (with line numbers) when the check fails, TemplateError when rendering does.
    """
    markdown, source = split_content(source)
    layout, body_source = split_layout(source)
    problems = check_template(body_source, category=category, subject=subject, layout=layout)
    if problems:
        raise TemplateProblemsError(problems)
    plan = _Plan()
    rendered_subject = TEXT_ENV.from_string(subject).render(_context(plan, subject, merchant_name, preview_text, "")).strip()
    context = _context(plan, body_source, merchant_name, preview_text, rendered_subject, body_markdown.to_html(markdown))
    body = HTML_ENV.from_string(body_source).render(context)
    if layout == LAYOUT_BASE:
        body = HTML_ENV.from_string(BASE_LAYOUT).render({**context, "body": Markup(body)})
    body, warnings = sanitize_html(body)  # whatever the source, no script or handler reaches a recipient
    if re.search(r"<style", body, re.I):
        body = _INLINER.inline(body)
    text = html_to_text(body)
    printed = {m.group(1) for part in (rendered_subject, body, text) for m in _PLACEHOLDER.finditer(part)}
    return RenderedEmail(rendered_subject, body, text, {k: v for k, v in plan.vars.items() if k in printed}, tuple(warnings))


def problems_of(exc: BaseException) -> list[Problem]:
    """The problem list of a template error, for callers that show them."""
    if isinstance(exc, TemplateProblemsError):
        return exc.problems
    if isinstance(exc, TemplateError):
        return [Problem(getattr(exc, "lineno", None) or 1, str(exc), f"merge tags are {known_tags()}")]
    return []

