"""The template checker, the sandbox, defaults, layout, CSS inlining and the text part (pure, no store)."""

import pytest
from jinja2.exceptions import SecurityError, TemplateAssertionError, UndefinedError

from campaigns.email import template_engine as tpl
from campaigns.email.gallery import starters
from campaigns.email.layout import with_content, with_layout
from campaigns.email.text import html_to_text

UNSUB = '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'

ESCAPES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{% set x = namespace() %}{{ x }}",
    "{{ ''|attr('__class__') }}",
    "{{ merchant_name['__class__'] }}",
    "{{ merchant_name.mro }}",
    "{{ self }}",
    "{{ range(99999999) | length }}",
    "{{ lipsum() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ merchant_name.format }}",
    "{% include 'x.html' %}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_are_rejected_by_the_check(source: str) -> None:
    problems = tpl.check_template(source, category="transactional")
    assert problems, source
    assert all(p.line == 1 and p.fix for p in problems)
    with pytest.raises(tpl.TemplateProblemsError):
        tpl.render_email("Hi", "", source, "Acme", category="transactional")


@pytest.mark.parametrize("source, error", [
    ("{{ ''.__class__.__mro__ }}", (SecurityError, UndefinedError)),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", (SecurityError, UndefinedError)),
    ("{{ cycler.__init__.__globals__ }}", (SecurityError, UndefinedError)),  # no globals at all
    ("{% set x = namespace() %}", UndefinedError),
    ("{{ range(3) }}", UndefinedError),
    ("{{ ''|attr('__class__') }}", TemplateAssertionError),  # the filter does not exist
    ("{{ merchant_name['__class__'] }}", (SecurityError, UndefinedError)),
    ("{{ '{0.__class__}'.format(1) }}", SecurityError),
])
def test_the_sandbox_refuses_escapes_even_without_the_check(source: str, error) -> None:
    # the render-time defence on its own: the environment itself, never the static check
    with pytest.raises(error):
        str(tpl.HTML_ENV.from_string(source).render(merchant_name="Acme"))


def test_the_environment_is_immutable_and_sandboxed() -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    assert isinstance(tpl.HTML_ENV, ImmutableSandboxedEnvironment) and tpl.HTML_ENV.autoescape is True
    assert tpl.HTML_ENV.globals == {} and "attr" not in tpl.HTML_ENV.filters and "format" not in tpl.HTML_ENV.filters
    with pytest.raises(SecurityError):
        tpl.HTML_ENV.from_string("{{ items.append(1) }}").render(items=[])


def test_syntax_errors_and_unknown_tags_carry_their_line() -> None:
    source = f"<p>one</p>\n<p>two</p>\n<p>{{{{ first_name }}</p>\n{UNSUB}"
    [problem] = tpl.check_template(source)
    assert problem.line == 3 and "syntax error" in problem.message
    source = f"<p>Hi</p>\n\n\n<p>{{{{ frist_name }}}}</p>\n<p>{{{{ nickname }}}}</p>\n{UNSUB}"
    problems = tpl.check_template(source)
    assert [(p.line, p.message) for p in problems] == [(4, "unknown merge tag {{ frist_name }}"), (5, "unknown merge tag {{ nickname }}")]
    assert "did you mean {{ first_name }}" in problems[0].fix
    [subject_problem] = tpl.check_template(UNSUB, subject="Hi {{ nickname }}")
    assert subject_problem.part == "subject" and str(subject_problem).startswith("subject 1: unknown merge tag")


def test_per_recipient_tags_can_only_be_printed() -> None:
    [problem] = tpl.check_template(f"{UNSUB}\n{{% if first_name %}}Hi{{% endif %}}")
    assert problem.line == 2 and "filled per recipient" in problem.message and "default" in problem.fix
    assert tpl.check_template(f'{UNSUB}{{{{ first_name | default("x") | upper }}}}{{{{ attributes.city | d("here") }}}}') == []
    assert "truncate" not in tpl.MERGE_FILTERS and tpl.check_template(f"{UNSUB}{{{{ first_name | truncate(3) }}}}")


def test_unsubscribe_link_required_for_marketing_only() -> None:
    body = "<p>Your order shipped, {{ first_name }}.</p>"
    [problem] = tpl.check_template(body, category="marketing")
    assert "unsubscribe link" in problem.message and "unsubscribe_url" in problem.fix
    assert tpl.check_template(body, category="transactional") == []
    assert tpl.check_template(body, category="marketing", layout="base") == []  # the layout's footer carries the link
    # printed as text is not a link
    assert tpl.check_template(body + "{{ unsubscribe_url }}", category="marketing")
    with pytest.raises(tpl.TemplateProblemsError, match="unsubscribe"):
        tpl.render_email("Hi", "", body, "Acme", category="marketing")


def test_defaults_apply_per_recipient_when_empty_or_missing() -> None:
    source = '<p>Hi {{ first_name | default("there") }}, from {{ attributes.city | default("your town") | upper }}</p>' + UNSUB
    rendered = tpl.render_email('Hello {{ first_name | default("friend") }}', "", source, "Acme")
    assert "{{first_name}}" not in rendered.html  # only the derived placeholders are printed
    empty = tpl.merge_snapshot("", "Doe", "a@example.com", {}, rendered)
    named = tpl.merge_snapshot("Zoe", "", "z@example.com", {"city": "Oslo", "unused": "x"}, rendered)
    assert named == {"first_name": "Zoe", "last_name": "", "email": "z@example.com", "attributes.city": "Oslo"}
    from publishers.base import fill_placeholders

    for snapshot, greeting, town, hello in ((empty, "there", "YOUR TOWN", "friend"), (named, "Zoe", "OSLO", "Zoe")):
        values = rendered.recipient_values(snapshot)
        assert f"<p>Hi {greeting}, from {town}</p>" in fill_placeholders(rendered.html, values, escape=True)
        assert fill_placeholders(rendered.subject, values) == f"Hello {hello}"


def test_base_layout_inlines_css_keeps_the_media_query_and_adds_the_footer() -> None:
    rendered = tpl.render_email("Hi", "Sale starts now", with_layout("<h1>Big news</h1><p>Body</p>", "base"), "Acme & Co")
    html = rendered.html
    assert '<h1 style="font-size: 26px;' in html  # inlined from the <style> block
    assert "@media only screen and (max-width: 620px)" in html and html.count("<style") == 1
    assert 'width="600"' in html and "Sale starts now</div>" in html  # 600px container, preheader
    assert "You receive this email from Acme &amp; Co." in html and 'href="{{unsubscribe_url}}"' in html
    assert "Sale starts now" not in rendered.text  # the hidden preheader is not part of the text
    assert rendered.text.startswith("Big news\n========\n\nBody")
    assert rendered.text.endswith("Unsubscribe: {{unsubscribe_url}}")


def test_text_part_headings_links_lists() -> None:
    html = ('<html><head><style>p{color:red}</style></head><body><h2>Deals</h2><p>Shop &amp; save<br>today</p>'
            '<ul><li>Shoes</li><li>Hats <a href="https://x.example/h?a=1&amp;b=2">see hats</a></li></ul>'
            '<p><a href="https://x.example">https://x.example</a> <a href="https://y.example"><img src="y.png" alt="Logo"></a></p></body></html>')
    assert html_to_text(html) == ("Deals\n-----\n\nShop & save\ntoday\n\n- Shoes\n- Hats see hats: https://x.example/h?a=1&b=2\n\n"
                                  "https://x.example Logo: https://y.example")


@pytest.mark.parametrize("item", starters(), ids=lambda s: s.key)
def test_every_gallery_template_passes_the_check_and_renders(item) -> None:
    assert tpl.check_template(item.html, category="marketing", subject=item.subject, layout="base") == []
    assert tpl.check_template(item.html, category="marketing", subject=item.subject, layout="none") == []  # has its own link too
    rendered = tpl.render_email(item.subject, "preview", with_layout(item.html, "base"), "Acme")
    values = rendered.recipient_values(tpl.merge_snapshot("", "", "a@example.com", {}, rendered))
    assert "<h1" in rendered.html and rendered.text and all(v for k, v in values.items() if k.startswith("first_name__"))


def test_gallery_has_the_six_starters() -> None:
    assert [s.key for s in starters()] == ["newsletter", "product_launch", "promotion", "re_engagement", "event", "article"]


@pytest.mark.parametrize("item", starters(), ids=lambda s: s.key)
def test_call_to_action_buttons_keep_white_text_after_inlining(item) -> None:
    """`.content a` (blue links) must not win over `.button` once the CSS is inlined: that left blue text on a blue button."""
    import re

    source = with_layout(item.html, item.layout)
    if tpl.has_content_slot(source):  # the Article starter's button comes from the email campaign's body
        source = with_content(source, "Our news.\n\n[Read it](https://acme.example/news)")
    html = tpl.render_email(item.subject, "", source, "Acme", category=item.category).html
    buttons = re.findall(r'<a class="button"[^>]*style="([^"]*)"', html)
    assert buttons, "every starter has a call to action"
    for style in buttons:
        colours = dict(part.split(":", 1) for part in style.split(";") if part.strip())
        assert colours["color"].strip() == "#ffffff" and colours["background-color"].strip() == "#4f46e5"


@pytest.mark.parametrize(("html", "kept", "warning"), [
    ('<p onclick="steal()">Hi</p><script>alert(1)</script>', "<p >Hi</p>", "<script>"),
    ("<img src=x onerror=alert(1)>", "<img src=x >", "event handler"),
    ("<img/onerror='a()' src=y>", "<img/ src=y>", "event handler"),
    ("<scr<script>x</script>ipt>alert(1)</script>", "alert(1)", "<script>"),
    ('<a href="javascript:alert(1)">x</a>', '<a href="#">x</a>', "javascript:"),
    ("<SCRIPT src=//evil.example/x.js>", "", "<script>"),
])
def test_active_content_is_stripped_with_a_warning(html: str, kept: str, warning: str) -> None:
    cleaned, warnings = tpl.sanitize_html(html)
    assert cleaned == kept and any(warning in w for w in warnings)


def test_ordinary_text_and_merge_tags_are_untouched() -> None:
    html = '<p>Only onward = fine, online</p><a href="{{ unsubscribe_url }}" data-online="1">Unsubscribe</a>'
    assert tpl.sanitize_html(html) == (html, [])


def test_rendering_strips_active_content_whatever_the_source() -> None:
    source = '<p onmouseover="x()">Hi {{ first_name }}</p><script>document.cookie</script><a href="{{ unsubscribe_url }}">Unsubscribe</a>'
    rendered = tpl.render_email("Hello", "", source, "Acme")
    assert "<script" not in rendered.html.lower() and "onmouseover" not in rendered.html and "document.cookie" not in rendered.text
    assert any("<script>" in w for w in rendered.warnings) and any("event handler" in w for w in rendered.warnings)
