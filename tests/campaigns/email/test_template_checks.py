"""The template checker's remaining rules, each with the message and fix it gives, and merge filters at render time."""

from __future__ import annotations

import pytest
from jinja2.exceptions import TemplateSyntaxError, UndefinedError

from campaigns.email import template_engine as tpl


def _messages(source: str, **kw) -> list[str]:
    return [p.message for p in tpl.check_template(source, category="transactional", **kw)]


@pytest.mark.parametrize(("source", "message"), [
    ("{% macro m() %}x{% endmacro %}", "{% macro %} is not available in email templates"),
    ("{% set ns = 1 %}{% set ns.x = 1 %}", "namespace attributes cannot be set"),
    ("{% set first_name = 'Bob' %}", "'first_name' cannot be assigned"),
    ("{% for x in [1] %}{{ loop }}{% endfor %}", "loop can only be used as loop.index, loop.first and the like"),
    ("{{ attributes }}", "attributes must name a custom field"),
    ("{{ attributes[merchant_name] }}", "item access with a computed key is not allowed"),
    ("{{ attributes['2nd'] }}", "'2nd' is not a custom field name"),
    ("{% if attributes.city %}near you{% endif %}", "attributes.city is filled per recipient at send time, so it can only be printed"),
    ("{{ merchant_name | wordwrap }}", "the wordwrap filter is not available"),
    ("{{ merchant_name | default(*names) }}", "*args and **kwargs are not allowed in filters"),
    ("{{ first_name | default(merchant_name) }}", "the default must be a fixed text"),
    ("{% set items = [1, 2] %}{% for c in items if loop %}{{ c }}{% endfor %}", "loop can only be used as loop.index, loop.first and the like"),
])
def test_each_rule_names_the_problem(source: str, message: str) -> None:
    assert message in _messages(source)
    with pytest.raises(tpl.TemplateProblemsError):
        tpl.render_email("Hi", "", source, "Acme", category="transactional")


def test_allowed_shapes_pass() -> None:
    assert _messages("{% for x in [1, 2] %}{{ loop.index }}{% endfor %}") == []
    assert _messages("{% set items = ['a', 'b'] %}{{ items[0] }}") == []


def test_too_long_unknown_category_and_layout() -> None:
    problems = tpl.check_template("x" * (tpl.MAX_SOURCE_CHARS + 1), category="spam", layout="fancy")
    messages = [p.message for p in problems]
    assert messages[:2] == ["unknown category 'spam'", "unknown layout 'fancy'"]
    assert "the html is 200,001 characters long" in messages
    assert problems[0].fix == "use one of marketing, transactional"


def test_merge_filters_become_per_recipient_values() -> None:
    rendered = tpl.render_email("Hi {{ first_name | lower }}", "", "{{ first_name | capitalize }} from {{ attributes.city | upper }}",
                                "Acme", category="transactional")
    assert rendered.subject == "Hi {{first_name__1}}" and rendered.html.startswith("{{first_name__2}} from {{attributes__city__1}}")
    assert rendered.attribute_names == ("city",)
    values = rendered.recipient_values({"first_name": "ANA maria", "email": "ana@example.com", "attributes": {"city": "Köln"}})
    assert values["first_name__1"] == "ana maria" and values["first_name__2"] == "Ana maria" and values["attributes__city__1"] == "KÖLN"


def test_default_on_a_campaign_field_falls_back_when_empty() -> None:
    source = "{{ merchant_name | default('our shop') }}|{{ merchant_name | d(default_value='the team') }}|{{ merchant_name | trim }}"
    assert tpl.render_email("s", "", source, "", category="transactional").html.startswith("our shop|the team|")
    assert tpl.render_email("s", "", source, " Acme ", category="transactional").html.startswith(" Acme | Acme |Acme")


def test_problems_of_other_errors() -> None:
    (problem,) = tpl.problems_of(UndefinedError("'town' is undefined"))
    assert problem.line == 1 and problem.message == "'town' is undefined" and problem.fix.startswith("merge tags are ")
    (syntax,) = tpl.problems_of(TemplateSyntaxError("unexpected '}'", lineno=3))
    assert syntax.line == 3
    assert tpl.problems_of(ValueError("not a template error")) == []
