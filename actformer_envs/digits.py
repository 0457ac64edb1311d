"""Ints <-> digit arrays in any base 2..36, for numbers of any size.

Python will not convert an int of more than ``sys.get_int_max_str_digits()`` digits (4300 by
default) to or from text in a base that is not a power of two, and the tasks' numbers may be far
longer than that; raising the limit would change the user's interpreter. So no conversion here goes
through ``int``'s text. Powers of two split the int's own bytes (``int.to_bytes``/``from_bytes``).
Base 10 builds the number as a ``decimal.Decimal`` from halves of its bits (libmpdec multiplies
large numbers fast), whose text has no limit. Other bases divide and conquer over cached powers
``base ** (chunk * 2**k)``, a chunk being as many digits as an int64 holds: one divmod per piece
splits it in halves, down to chunks that NumPy turns into digits all at once. Digits become an int
the other way: chunks by one NumPy product, combined pairwise as ``low + high * power`` (Python
multiplies large ints by Karatsuba). A 10^5-digit number converts in about 0.05 s in base 10 or a
power of two, in under half a second in any base.
"""

from __future__ import annotations

import decimal
import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Values below this convert digit by digit in Python (the common case: a few digits), at once.
_SMALL = 2**63
#: Ints of at most this many bits print as text within any digit limit Python allows (640 at least).
_PRINTABLE_BITS = 2000
#: Pieces of at most this many bits become Decimals directly (``_decimal_text``).
_LEAF_BITS = 256
_DIGIT_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"


def to_digits(value: int, base: int) -> list[int]:
    """Digits of ``value`` >= 0 in ``base``, least significant first (``[0]`` for 0)."""
    if value < _SMALL:
        if base == 10:
            return [int(c) for c in reversed(str(value))]
        out = []
        while True:
            value, digit = divmod(value, base)
            out.append(digit)
            if not value:
                return out
    return digits_of(value, base).tolist()


def digits_of(value: int, base: int) -> np.ndarray:
    """Digits of ``value`` >= 0 in ``base``, least significant first, as int8 (``[0]`` for 0)."""
    if value < _SMALL:
        return np.array(to_digits(value, base), dtype=np.int8)
    bits = _bits_per_digit(base)
    if bits:  # a power of two: the int's own bits, ``bits`` to a digit
        raw = np.frombuffer(value.to_bytes((value.bit_length() + 7) // 8, "little"), dtype=np.uint8)
        count = -(-value.bit_length() // bits)
        spread = np.zeros(count * bits, dtype=np.uint8)
        unpacked = np.unpackbits(raw, bitorder="little")[: len(spread)]
        spread[: len(unpacked)] = unpacked
        return (spread.reshape(count, bits) @ _place_values(2, bits).astype(np.uint8)).astype(np.int8)
    if base == 10:
        return np.frombuffer(_decimal_text(value).encode("ascii"), dtype=np.int8)[::-1] - ord("0")
    chunk = _chunk_digits(base)
    powers = _powers(base, value)
    pieces = [value]
    for power in reversed(powers):  # every piece below power**2: split it into two below power
        split: list[int] = []
        for piece in pieces:
            high, low = divmod(piece, power)
            split += (low, high)
        pieces = split
    chunks = np.array(pieces, dtype=np.int64)  # each below base**chunk, least significant first
    digits = (chunks[:, None] // _place_values(base, chunk) % base).reshape(-1)
    return digits[: int(np.flatnonzero(digits)[-1]) + 1].astype(np.int8)  # (value > 0: a digit is)


def from_digits(digits: Sequence[int] | np.ndarray, base: int) -> int:
    """The int whose digits in ``base`` are ``digits``, least significant first (0 for none)."""
    digits = np.asarray(digits, dtype=np.int64).reshape(-1)
    chunk = _chunk_digits(base)
    if len(digits) <= chunk:
        return int(digits @ _place_values(base, len(digits)))
    bits = _bits_per_digit(base)
    if bits:  # a power of two: pack the digits' bits into the int's bytes
        spread = (digits[:, None] >> np.arange(bits)) & 1
        return int.from_bytes(np.packbits(spread.astype(np.uint8), bitorder="little").tobytes(), "little")
    padded = np.zeros(-(-len(digits) // chunk) * chunk, dtype=np.int64)
    padded[: len(digits)] = digits
    pieces: list[int] = (padded.reshape(-1, chunk) @ _place_values(base, chunk)).tolist()
    level = 0
    while len(pieces) > 1:  # combine neighbours: piece 2i holds exactly chunk * 2**level digits
        power = _power(base, level)
        combined = [low + high * power for low, high in zip(pieces[::2], pieces[1::2], strict=False)]
        if len(pieces) % 2:
            combined.append(pieces[-1])
        pieces = combined
        level += 1
    return pieces[0]


def digit_count(value: int, base: int) -> int:
    """How many digits ``value`` >= 0 has in ``base`` (1 for 0), without converting it."""
    if value < _SMALL:
        return len(to_digits(value, base))
    bits = _bits_per_digit(base)
    if bits:
        return -(-value.bit_length() // bits)
    # 2**(bits - 1) <= value < 2**bits: log_base(value) lies in [low, high), which holds at most one
    # int k (high - low < 1), widened by far more than the floating-point error. Without one, the
    # count is known; with one, a comparison with base**k says on which side of it the value is.
    bits = value.bit_length()
    low, high = (bits - 1) / math.log2(base) - 1e-6, bits / math.log2(base) + 1e-6
    k = math.floor(high)
    if math.floor(low) == k:
        return k + 1
    return k + 1 if value >= base**k else k


def number_text(value: int, base: int = 10) -> str:
    """``value`` written most significant digit first (``-`` before a negative one), of any size."""
    if base == 10:
        magnitude = abs(value)
        text = repr(int(magnitude)) if magnitude.bit_length() <= _PRINTABLE_BITS else _decimal_text(magnitude)
        return "-" + text if value < 0 else text
    text = _CHAR_CODES.take(digits_of(abs(value), base)[::-1]).tobytes().decode("ascii")
    return "-" + text if value < 0 else text


def number_from_text(text: str, base: int = 10) -> int:
    """``int(text, base)``, also for a long ``text`` of plain digits (``0-9a-z``, most significant
    first), which ``int`` refuses past Python's digit limit. Anything else goes to ``int``."""
    if len(text) * math.log2(base) <= _PRINTABLE_BITS or not text.isascii():
        return int(text, base)
    digits = _CODE_VALUES[np.frombuffer(text.lower().encode("ascii"), dtype=np.uint8)]
    if (digits >= base).any():  # a sign, a space, an underscore...: int's syntax, and its limit
        return int(text, base)
    return from_digits(digits[::-1], base)


def shown(value: Any) -> str:
    """``repr(value)`` for messages; one that holds an int too long to print is summarized."""
    try:
        return repr(value)
    except ValueError:  # Python's limit on int -> text conversion
        return f"<{type(value).__name__} holding an int of {_decimal_digits(value)} digits or more>"


def _decimal_digits(value: Any) -> int:
    """About how many decimal digits the largest int in ``value`` (an int, or a sequence) has."""
    if isinstance(value, int):
        return int(abs(value).bit_length() * np.log10(2))
    if isinstance(value, (tuple, list)):
        return max((_decimal_digits(x) for x in value), default=0)
    return 0


def _decimal_text(value: int) -> str:
    """The decimal digits of ``value`` >= 0, most significant first: ``value`` built as a Decimal
    from the halves of its bits, ``high * 2**half + low``, in exact arithmetic."""
    context = decimal.Context(
        prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[decimal.Inexact]
    )
    powers: dict[int, decimal.Decimal] = {}

    def build(part: int, bits: int) -> decimal.Decimal:
        if bits <= _LEAF_BITS:
            return decimal.Decimal(part)
        half = bits // 2
        high = part >> half
        if half not in powers:
            powers[half] = context.power(_TWO, half)
        return context.fma(build(high, bits - half), powers[half], build(part - (high << half), half))

    return str(build(value, value.bit_length()))


_TWO = decimal.Decimal(2)
_CHAR_CODES = np.frombuffer(_DIGIT_CHARS.encode("ascii"), dtype=np.uint8)  # digit value -> character
_CODE_VALUES = np.full(256, 255, dtype=np.uint8)  # character code -> digit value (255: none)
_CODE_VALUES[_CHAR_CODES] = np.arange(len(_CHAR_CODES))


@functools.cache
def _bits_per_digit(base: int) -> int:
    """log2(base) if ``base`` is a power of two, else 0."""
    return base.bit_length() - 1 if base & (base - 1) == 0 else 0


@functools.cache
def _chunk_digits(base: int) -> int:
    """The most digits of ``base`` whose every value fits an int64 (``base ** chunk < 2**63``)."""
    chunk = 1
    while base ** (chunk + 1) < 2**63:
        chunk += 1
    return chunk


@functools.cache
def _place_values(base: int, digits: int) -> np.ndarray:
    """``base ** [0, 1, ..., digits - 1]`` as int64 (read-only: cached)."""
    values = base ** np.arange(digits, dtype=np.int64)
    values.flags.writeable = False
    return values


#: Per base, ``base ** (chunk * 2**k)`` for k = 0, 1, ...: grown as numbers need, replaced whole (so
#: a thread reads a complete tuple, never one being extended).
_POWERS: dict[int, tuple[int, ...]] = {}


def _power(base: int, level: int) -> int:
    """``base ** (chunk * 2**level)``."""
    powers = _POWERS.get(base, ())
    if len(powers) <= level:
        powers = powers or (base ** _chunk_digits(base),)
        while len(powers) <= level:
            powers += (powers[-1] * powers[-1],)
        _POWERS[base] = powers
    return powers[level]


def _powers(base: int, value: int) -> list[int]:
    """``base ** (chunk * 2**k)`` for k = 0..K, the last one's square above ``value``."""
    powers = [_power(base, 0)]
    while powers[-1].bit_length() * 2 - 1 <= value.bit_length():  # (then power**2 > value surely)
        powers.append(_power(base, len(powers)))
    return powers
