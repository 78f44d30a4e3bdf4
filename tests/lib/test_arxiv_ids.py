"""One rule for an arXiv id: every way a listing, a form or a URL writes an id gives one key."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.lib.arxiv import arxiv_id_normalize


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2401.01234", "2401.01234"),
        ("2401.01234v3", "2401.01234"),
        ("  2401.01234 \n", "2401.01234"),
        ("arXiv:2401.01234v2", "2401.01234"),
        ("ARXIV:2401.01234", "2401.01234"),
        ("2401.01234.pdf", "2401.01234"),
        ("https://arxiv.org/abs/2401.01234", "2401.01234"),
        ("http://arxiv.org/abs/2202.12139v1", "2202.12139"),
        ("https://www.arxiv.org/pdf/2401.01234v2.pdf", "2401.01234"),
        ("https://export.arxiv.org/abs/2401.01234?context=cs", "2401.01234"),
        ("https://arxiv.org/html/2401.01234v1#S2", "2401.01234"),
        ("https://arxiv.org/pdf/2401.01234/", "2401.01234"),
        ("https://huggingface.co/papers/2410.17243", "2410.17243"),
        ("/papers/2410.17243", "2410.17243"),
        ("oai:arXiv.org:2510.14999v2", "2510.14999"),
        ("0704.0001", "0704.0001"),
        ("math.GT/0309136", "math.GT/0309136"),
        ("math.gt/0309136", "math.GT/0309136"),
        ("MATH.GT/0309136v1", "math.GT/0309136"),
        ("hep-th/9901001v2", "hep-th/9901001"),
        ("arXiv:hep-th/9901001", "hep-th/9901001"),
        ("http://arxiv.org/abs/astro-ph/0601001v1", "astro-ph/0601001"),
        ("oai:arXiv.org:astro-ph/0601001v2", "astro-ph/0601001"),
        ("https://arxiv.org/pdf/math.GT/0309136v1.pdf", "math.GT/0309136"),
        ("https://arxiv.org/api/errors#incorrect_id_format_for_abc", ""),
        ("12345.678901", ""),
        ("2401.123", ""),
        ("not an id", ""),
        ("", ""),
        (None, ""),
        (2401.01234, ""),
    ],
)
def test_every_written_form_of_an_id_gives_its_key(value, expected):
    assert arxiv_id_normalize(value) == expected


new_ids = st.from_regex(r"\A[0-9]{4}\.[0-9]{4,5}\Z")
old_ids = st.tuples(
    st.sampled_from(["math", "hep-th", "astro-ph", "cs", "cond-mat"]),
    st.sampled_from(["", ".GT", ".AI", ".CO"]),
    st.from_regex(r"\A[0-9]{7}\Z"),
).map(lambda p: f"{p[0]}{p[1]}/{p[2]}")
ids = st.one_of(new_ids, old_ids)
forms = st.sampled_from(
    [
        "{}",
        " {}v3 ",
        "arXiv:{}",
        "{}.pdf",
        "https://arxiv.org/abs/{}v2",
        "http://www.arxiv.org/pdf/{}.pdf",
        "https://export.arxiv.org/abs/{}?x=1",
        "oai:arXiv.org:{}",
    ]
)


@given(ids, forms, st.booleans())
def test_every_form_of_one_id_gives_the_same_key(arxiv_id, form, upper):
    written = form.format(arxiv_id.upper() if upper else arxiv_id)
    assert arxiv_id_normalize(written) == arxiv_id_normalize(arxiv_id) != ""


@given(st.text(max_size=80))
def test_normalising_is_idempotent(value):
    key = arxiv_id_normalize(value)
    assert arxiv_id_normalize(key) == key
