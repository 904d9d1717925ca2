"""The one-pass text decoder agrees exactly with one comparison per category."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import cvrisk
from cvrisk.scores.decode import CategoryDecoder, decoder

CATEGORY_LISTS = [
    tuple(spec.categories)
    for info in cvrisk.models().values()
    for spec in info.inputs.values()
    if spec.kind == "category"
]


def _naive(values: np.ndarray, categories: tuple[str, ...]) -> np.ndarray:
    codes = np.full(values.shape, -1, dtype=np.int8)
    for index, category in enumerate(categories):
        codes[values == category] = index
    return codes


def _near(categories: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Categories and near misses: cut, extended, one character changed, other case."""
    category = st.sampled_from(categories)
    return st.one_of(
        category,
        category.map(lambda c: c[:-1]),
        category.map(lambda c: c + "x"),
        category.map(lambda c: c.upper()),
        category.map(lambda c: "\u0101" + c[1:]),
        category.map(lambda c: c[:1] + "\x00" + c[1:]),
        st.text(max_size=20),
    )


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_decoder_equals_one_comparison_per_category(data: st.DataObject) -> None:
    categories = data.draw(st.sampled_from(CATEGORY_LISTS))
    values = np.array(data.draw(st.lists(_near(categories), min_size=1, max_size=50)))
    expected = _naive(values, categories)
    np.testing.assert_array_equal(decoder(categories).unicode(values), expected)
    np.testing.assert_array_equal(decoder(categories).objects(values.astype(object)), expected)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=12, unique=True),
    st.lists(st.text(max_size=14), max_size=30),
)
def test_decoder_of_any_category_list(categories: list[str], extra: list[str]) -> None:
    table = CategoryDecoder(tuple(categories))
    values = np.array([*categories, *extra])
    np.testing.assert_array_equal(table.unicode(values), _naive(values, tuple(categories)))


def test_decoder_on_blocks_and_byte_order() -> None:
    categories = ("white", "indian", "black_caribbean")
    values = np.random.default_rng(0).choice(np.array([*categories, "x", "whites"]), 200_001)
    expected = _naive(values, categories)
    np.testing.assert_array_equal(decoder(categories).unicode(values), expected)
    swapped = values.astype(values.dtype.newbyteorder(">"))
    np.testing.assert_array_equal(decoder(categories).unicode(swapped), expected)
