"""Tests for the NumPy rasterizer behind ``render_mode="rgb_array"``: its font, text and cells."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from actformer_envs.raster import (
    BACKGROUND,
    CELL_H,
    CELL_W,
    FOREGROUND,
    GLYPHS,
    centred_glyphs,
    draw_text,
    glyph_indices,
    pixel,
    pixels,
    text_mask,
    text_to_rgb,
)

PRINTABLE = [chr(c) for c in range(32, 127)]


def _fg_mask(img: np.ndarray) -> np.ndarray:
    """True where a pixel has the foreground color."""
    return np.all(img == FOREGROUND, axis=-1)


@pytest.mark.parametrize("text", ["", "a", "ab", "hello\nworld", "[0 1]\n#.=-+><\n/:,()", "x\n\ny", "é\t"])
@pytest.mark.parametrize("scale", [1, 2, 3])
def test_shape_dtype_even_and_two_colors(text: str, scale: int) -> None:
    img = text_to_rgb(text, scale=scale)
    assert img.dtype == np.uint8
    assert img.ndim == 3 and img.shape[2] == 3
    h, w = img.shape[:2]
    assert h >= 2 and w >= 2 and h % 2 == 0 and w % 2 == 0
    is_fg, is_bg = _fg_mask(img), np.all(img == BACKGROUND, axis=-1)
    assert np.all(is_fg | is_bg)
    assert not np.array_equal(FOREGROUND, BACKGROUND)


def test_empty_text_is_blank_background() -> None:
    img = text_to_rgb("")
    assert img.shape[0] >= 2 and img.shape[1] >= 2
    assert not _fg_mask(img).any()


def test_nonblank_text_has_foreground_and_layout() -> None:
    lines = ["ab", "cde"]
    img = text_to_rgb("\n".join(lines), scale=1)
    assert img.shape[:2] == (2 * CELL_H, 3 * CELL_W)
    assert _fg_mask(img).any()


def test_different_strings_give_different_images() -> None:
    texts = ["abc", "abd", "abc ", "ABC", "[0]", "[1]", "a\nb", "b\na", "1+1=2", "1-1=0"]
    imgs = [text_to_rgb(t) for t in texts]
    for (ta, a), (tb, b) in itertools.combinations(zip(texts, imgs, strict=True), 2):
        assert a.shape != b.shape or not np.array_equal(a, b), (ta, tb)


def test_glyph_table_shape() -> None:
    assert GLYPHS.shape == (95, 7, 5) and GLYPHS.dtype == bool
    flat = GLYPHS.reshape(len(GLYPHS), -1)
    assert len(np.unique(flat, axis=0)) == len(GLYPHS)


def test_every_printable_char_has_a_distinct_glyph() -> None:
    masks = {ch: _fg_mask(text_to_rgb(ch, scale=1)) for ch in PRINTABLE}
    assert not masks[" "].any()
    for ch in PRINTABLE[1:]:
        assert masks[ch].any(), f"glyph for {ch!r} is empty"
    for a, b in itertools.combinations(PRINTABLE, 2):
        assert not np.array_equal(masks[a], masks[b]), f"{a!r} and {b!r} look the same"


def test_unknown_chars_draw_as_filled_box_distinct_from_all_glyphs() -> None:
    box = _fg_mask(text_to_rgb("\u00e9", scale=1))
    assert box[:7, :5].all() and not box[7:, :].any() and not box[:, 5:].any()
    assert np.array_equal(box, _fg_mask(text_to_rgb("\t", scale=1)))
    for ch in PRINTABLE:
        assert not np.array_equal(box, _fg_mask(text_to_rgb(ch, scale=1))), ch


def test_brackets_draw_normally() -> None:
    img = _fg_mask(text_to_rgb("[a]", scale=1))
    for i, ch in enumerate("[a]"):
        cell = img[:, i * CELL_W : (i + 1) * CELL_W]
        assert np.array_equal(cell, _fg_mask(text_to_rgb(ch, scale=1)))


def test_multiline_unequal_lines_pad_to_longest() -> None:
    img = text_to_rgb("a\nabcd\nab", scale=1)
    assert img.shape[:2] == (3 * CELL_H, 4 * CELL_W)
    padded = text_to_rgb("a   \nabcd\nab  ", scale=1)
    assert np.array_equal(img, padded)
    # The padding to the right of the short first line is pure background.
    assert not _fg_mask(img)[:CELL_H, CELL_W:].any()


@pytest.mark.parametrize("text", ["a", "hello\nworld!", "[x] 12"])
@pytest.mark.parametrize("scale", [2, 3, 5])
def test_scale_multiplies_size_exactly(text: str, scale: int) -> None:
    base = text_to_rgb(text, scale=1)
    big = text_to_rgb(text, scale=scale)
    assert big.shape == (base.shape[0] * scale, base.shape[1] * scale, 3)
    assert np.array_equal(big, base.repeat(scale, axis=0).repeat(scale, axis=1))


def test_default_scale_is_two() -> None:
    assert np.array_equal(text_to_rgb("ok"), text_to_rgb("ok", scale=2))


@pytest.mark.parametrize("scale", [0, -1, 1.5, 2.0, "2", None, True])
def test_bad_scale_raises(scale: object) -> None:
    with pytest.raises(ValueError, match="scale"):
        text_to_rgb("a", scale=scale)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["a", "P0 P1", "[x] 12", "\u00e9t"])
@pytest.mark.parametrize("scale", [1, 2, 3])
def test_draw_text_paints_the_text_mask_in_its_colour(text: str, scale: int) -> None:
    color = np.array([230, 159, 0], dtype=np.uint8)
    image = np.zeros((40, 200, 3), dtype=np.uint8)
    image[..., 2] = 7  # (a background the text must leave alone)
    before = image.copy()
    draw_text(image, 3, 5, text, color, scale)
    mask = text_mask(text, scale)
    h, w = mask.shape
    lit = np.zeros(image.shape[:2], dtype=bool)
    lit[3 : 3 + h, 5 : 5 + w] = mask
    assert np.all(image[lit] == color)
    assert np.array_equal(image[~lit], before[~lit])
    assert np.array_equal(_fg_mask(text_to_rgb(text, scale))[:h, :w], mask)  # (the same glyphs)


def test_draw_text_is_clipped_at_the_image_edges() -> None:
    image = np.zeros((10, 30, 3), dtype=np.uint8)
    draw_text(image, 4, 20, "hello world", FOREGROUND, 2)  # runs past the right and bottom edges
    assert np.array_equal(_fg_mask(image)[4:, 20:], text_mask("hello world", 2)[:6, :10])
    draw_text(image, 10, 0, "x", FOREGROUND)  # wholly outside: nothing to draw
    draw_text(image, 0, 30, "x", FOREGROUND)


@pytest.mark.parametrize(("size", "scale"), [(7, 1), (26, 2), (25, 2), (30, 3)])
def test_centred_glyphs_hold_each_glyph_in_the_middle_of_its_square(size: int, scale: int) -> None:
    table = centred_glyphs(size, scale)
    assert table.shape == (96, size, size) and table.dtype == bool and not table.flags.writeable
    gh, gw = 7 * scale, 5 * scale
    top, left = (size - gh) // 2, (size - gw) // 2
    scaled = GLYPHS.repeat(scale, axis=1).repeat(scale, axis=2)
    assert np.array_equal(table[:95, top : top + gh, left : left + gw], scaled)
    assert table[:, :top].sum() == table[:, top + gh :].sum() == 0
    assert table[-1, top : top + gh, left : left + gw].all()  # the unknown box
    assert abs(top - (size - gh - top)) <= 1 and abs(left - (size - gw - left)) <= 1
    for i, ch in enumerate("09a."):
        assert glyph_indices(ch)[0] == ord(ch) - 32, i
    assert glyph_indices("\u00e9")[0] == 95


def test_centred_glyphs_refuse_a_square_too_small() -> None:
    with pytest.raises(ValueError, match="fit"):
        centred_glyphs(13, 2)


def test_pixels_are_a_view_and_pixel_is_one_item() -> None:
    image = np.zeros((4, 6, 3), dtype=np.uint8)
    view = pixels(image)
    assert view.shape == (4, 6) and np.shares_memory(view, image)
    view[1:3, 2] = pixel(np.array([1, 2, 3], dtype=np.uint8))
    assert np.array_equal(image[1, 2], [1, 2, 3]) and np.array_equal(image[2, 2], [1, 2, 3])
    assert image.sum() == 12
