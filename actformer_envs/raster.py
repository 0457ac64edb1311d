"""A tiny NumPy-only text rasterizer, for the envs' ``render_mode="rgb_array"`` picture.

Gymnasium's ``RecordVideo`` (and anything else that wants frames) needs an RGB image. Rather than
depend on Pillow or a font file, this module carries a built-in 5x7 monospace bitmap font for
printable ASCII (32..126) and draws with it: text in any colour into an image (:func:`draw_text`),
characters centred in square cells (:func:`centred_glyphs`), or a whole text as light-on-dark image
(:func:`text_to_rgb`, both sides even so that video encoders accept it). Characters outside the font
draw as a filled box.
"""

from __future__ import annotations

import functools

import numpy as np

GLYPH_H, GLYPH_W = 7, 5
CELL_H, CELL_W = GLYPH_H + 1, GLYPH_W + 1  # 1px spacing below and to the right of every glyph
FIRST_CHAR, LAST_CHAR = 32, 126

BACKGROUND = np.array([16, 18, 24], dtype=np.uint8)
FOREGROUND = np.array([230, 230, 220], dtype=np.uint8)

# Each glyph: 7 rows top to bottom, one hex byte per row, bit 4 is the leftmost of the 5 pixels.
# fmt: off
_FONT_HEX: dict[str, str] = {
    " ": "00000000000000", "!": "04040404000004", '"': "0A0A0A00000000", "#": "0A0A1F0A1F0A0A",
    "$": "040F140E051E04", "%": "18190204081303", "&": "0C12140815120D", "'": "0C040800000000",
    "(": "02040808080402", ")": "08040202020408", "*": "0004150E150400", "+": "0004041F040400",
    ",": "000000000C0408", "-": "0000001F000000", ".": "00000000000C0C", "/": "00010204081000",
    "0": "0E11131519110E", "1": "040C040404040E", "2": "0E11010204081F", "3": "1F02040201110E",
    "4": "02060A121F0202", "5": "1F101E0101110E", "6": "0608101E11110E", "7": "1F010204080808",
    "8": "0E11110E11110E", "9": "0E11110F01020C", ":": "000C0C000C0C00", ";": "000C0C000C0408",
    "<": "02040810080402", "=": "00001F001F0000", ">": "08040201020408", "?": "0E110102040004",
    "@": "0E11010D15150E", "A": "0E1111111F1111", "B": "1E11111E11111E", "C": "0E11101010110E",
    "D": "1C12111111121C", "E": "1F10101E10101F", "F": "1F10101E101010", "G": "0E11101711110F",
    "H": "1111111F111111", "I": "0E04040404040E", "J": "0702020202120C", "K": "11121418141211",
    "L": "1010101010101F", "M": "111B1515111111", "N": "11111915131111", "O": "0E11111111110E",
    "P": "1E11111E101010", "Q": "0E11111115120D", "R": "1E11111E141211", "S": "0F10100E01011E",
    "T": "1F040404040404", "U": "1111111111110E", "V": "11111111110A04", "W": "1111111515150A",
    "X": "11110A040A1111", "Y": "1111110A040404", "Z": "1F01020408101F", "[": "0E08080808080E",
    "\\": "00100804020100", "]": "0E02020202020E", "^": "040A1100000000", "_": "0000000000001F",
    "`": "08040200000000", "a": "00000E010F110F", "b": "1010161911111E", "c": "00000E1010110E",
    "d": "01010D1311110F", "e": "00000E111F100E", "f": "0609081C080808", "g": "000F11110F010E",
    "h": "10101619111111", "i": "04000C0404040E", "j": "0200060202120C", "k": "10101214181412",
    "l": "0C04040404040E", "m": "00001A15151111", "n": "00001619111111", "o": "00000E1111110E",
    "p": "00001E111E1010", "q": "00000D130F0101", "r": "00001619101010", "s": "00000E100E011E",
    "t": "08081C08080906", "u": "0000111111130D", "v": "00001111110A04", "w": "0000111115150A",
    "x": "0000110A040A11", "y": "000011110F010E", "z": "00001F0204081F", "{": "02040408040402",
    "|": "04040404040404", "}": "08040402040408", "~": "00000815020000",
}
# fmt: on


def _build_cells() -> np.ndarray:
    """The font as (n_glyphs + 1, CELL_H, CELL_W) bool cells; the last one is the filled 'unknown' box."""
    chars = [chr(c) for c in range(FIRST_CHAR, LAST_CHAR + 1)]
    missing = set(chars) - set(_FONT_HEX)
    if missing or len(_FONT_HEX) != len(chars):
        raise RuntimeError(f"font table does not cover printable ASCII exactly; missing {sorted(missing)}")
    raw = b"".join(bytes.fromhex(_FONT_HEX[ch]) for ch in chars)
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(len(chars), GLYPH_H)
    bits = (rows[..., None] >> np.arange(GLYPH_W - 1, -1, -1, dtype=np.uint8)) & 1  # (n, 7, 5)
    cells = np.zeros((len(chars) + 1, CELL_H, CELL_W), dtype=bool)
    cells[:-1, :GLYPH_H, :GLYPH_W] = bits.astype(bool)
    cells[-1, :GLYPH_H, :GLYPH_W] = True
    return cells


_CELLS = _build_cells()
#: (95, 7, 5) bool, read-only: the glyph of each printable ASCII character, at ``ord(ch) - FIRST_CHAR``.
GLYPHS: np.ndarray = _CELLS[:-1, :GLYPH_H, :GLYPH_W]
GLYPHS.flags.writeable = False
_UNKNOWN = len(_CELLS) - 1


def glyph_indices(text: str) -> np.ndarray:
    """The glyph of each character of one line of ``text``, (len,) indices into :func:`centred_glyphs`'s
    table (and the font's): printable ASCII at ``ord(ch) - FIRST_CHAR``, anything else the filled box."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.intp)
    known = (codes >= FIRST_CHAR) & (codes <= LAST_CHAR)
    return np.where(known, codes - FIRST_CHAR, _UNKNOWN)


def _check_scale(scale: int) -> int:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be an int >= 1, got {scale!r}")
    return int(scale)


def text_mask(text: str, scale: int = 2) -> np.ndarray:
    """Where multi-line ``text`` lights pixels: (n_lines * 8 * scale, longest * 6 * scale) bool.

    Each character takes a (8 * scale, 6 * scale) cell, its glyph in the top left (5 x 7 pixels, times
    ``scale``); lines are padded to the longest one.
    """
    scale = _check_scale(scale)
    lines = [_line_mask(line, scale) for line in text.splitlines() or [""]]
    height = CELL_H * scale
    mask = np.zeros((len(lines) * height, max(line.shape[1] for line in lines)), dtype=bool)
    for i, line in enumerate(lines):
        mask[i * height : (i + 1) * height, : line.shape[1]] = line
    return mask


@functools.lru_cache(maxsize=1024)
def _line_mask(line: str, scale: int) -> np.ndarray:
    """:func:`text_mask` of one line (read-only), cached: a frame redraws mostly the same lines."""
    cells = _scaled_cells(scale)[glyph_indices(line)]  # (len, CELL_H * scale, CELL_W * scale)
    n, h, w = cells.shape
    mask = cells.transpose(1, 0, 2).reshape(h, n * w)
    mask.flags.writeable = False
    return mask


def draw_text(image: np.ndarray, y: int, x: int, line: str, color: np.ndarray, scale: int = 2) -> None:
    """Draw one line of text into ``image`` (H, W, 3) uint8, C-contiguous, with its top-left corner at
    pixel (y, x), in ``color``: only the lit pixels change; what falls outside the image is left out."""
    mask = _line_mask(line, _check_scale(scale))
    h, w = mask.shape
    mask = mask[: max(image.shape[0] - y, 0), : max(image.shape[1] - x, 0)]
    pixels(image)[y : y + h, x : x + w][mask] = pixel(color)


_PIXEL = np.dtype((np.void, 3))


def pixels(image: np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 image (C-contiguous) as a view of (H, W) pixels, one 3-byte item each.

    Setting pixels of it to a :func:`pixel` copies one item per pixel; setting them on the image to
    a colour broadcasts a 3-element inner loop per pixel, several times slower.
    """
    return image.view(_PIXEL)[..., 0]


def pixel(color: np.ndarray) -> np.void:
    """An RGB colour (3 uint8) as one item of :func:`pixels`."""
    return np.ascontiguousarray(color, dtype=np.uint8).view(_PIXEL)[0]


def _scaled_cells(scale: int) -> np.ndarray:
    """The font's character cells (``_CELLS``) scaled by ``scale``, cached: (96, 8 * scale, 6 * scale)."""
    table = _SCALED.get(scale)
    if table is None:
        table = _CELLS.repeat(_check_scale(scale), axis=1).repeat(scale, axis=2)
        table.flags.writeable = False
        _SCALED[scale] = table
    return table


_SCALED: dict[int, np.ndarray] = {}


def centred_glyphs(size: int, scale: int) -> np.ndarray:
    """The font's glyphs scaled by ``scale``, each centred in a ``size`` x ``size`` square: (96, size,
    size) bool, read-only, indexed like :func:`glyph_indices`; the last one is the filled box.

    Drawing a row of characters in square cells is then one gather of this table. Cached per size.
    """
    key = (size, _check_scale(scale))
    table = _CENTRED.get(key)
    if table is None:
        gh, gw = GLYPH_H * key[1], GLYPH_W * key[1]
        if gh > size or gw > size:
            raise ValueError(f"glyphs at scale {scale} ({gw}x{gh}) do not fit a {size}-pixel square")
        glyphs = _CELLS[:, :GLYPH_H, :GLYPH_W].repeat(key[1], axis=1).repeat(key[1], axis=2)
        table = np.zeros((len(_CELLS), size, size), dtype=bool)
        top, left = (size - gh) // 2, (size - gw) // 2
        table[:, top : top + gh, left : left + gw] = glyphs
        table.flags.writeable = False
        _CENTRED[key] = table
    return table


_CENTRED: dict[tuple[int, int], np.ndarray] = {}


def text_to_rgb(text: str, scale: int = 2) -> np.ndarray:
    """Draw multi-line ``text`` in the built-in 5x7 font; returns an (H, W, 3) uint8 image, H and W even.

    Each character takes a (8 * scale, 6 * scale) cell; lines are padded to the longest one, and an empty
    text still gives a small (at least 2x2) background image.
    """
    mask = text_mask(text, scale)
    h, w = mask.shape
    padded = np.zeros((max(2, h + h % 2), max(2, w + w % 2)), dtype=bool)
    padded[:h, :w] = mask
    return np.where(padded[..., None], FOREGROUND, BACKGROUND).astype(np.uint8, copy=False)
