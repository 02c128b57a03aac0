"""Personal-data detectors for single text values.

Regular expressions find candidates cheaply; well-kept validators (python-stdnum, phonenumbers,
ipaddress) confirm them. ``PREFILTER`` is an RE2 pattern that matches every value in which any
detector could find something: the scanner runs it over whole Arrow columns and hands only the
matching values to :func:`analyze`.

Identifiers whose only evidence is a bare run of digits and a checksum (a BSN, an SSN without
dashes, a card number without spaces, a German tax id, a NIR without spaces) are ambiguous: random
9- to 19-digit numbers pass such checks often enough to make order numbers look like PII. They
count as found when the column name names the type, when a keyword for the type stands just before
the number in the same value, or (decided per column by the scanner) when a column holds such
numbers only and nearly all of them pass the checksum.

One module on purpose, although long: it is the table of detectors. Each type's candidate pattern, its
term in the prefilter, its validator and its keywords must change together (a pattern without its
prefilter term is a silent miss, and the prefilter is built from the same constants), so they are kept
side by side; the scanning around them is ``column_scan`` and ``scanner``.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import phonenumbers
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from stdnum import iban, luhn
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.us import ssn

from .manifest import PiiType

_IBAN_COUNTRY_TEXT = """
AD AE AL AT AZ BA BE BG BH BI BR BY CH CR CY CZ DE DJ DK DO EE EG ES FI FK FO FR GB GE GI GL GR GT HN HR HU IE
IL IQ IS IT JO KW KZ LB LC LI LT LU LV LY MC MD ME MK MN MR MT MU NI NL NO OM PK PL PS PT QA RO RS RU SA SC SD
SE SI SK SM SO ST SV TL TN TR UA VA VG XK YE
"""
IBAN_COUNTRIES = tuple(re.findall(r"[A-Z]{2}", _IBAN_COUNTRY_TEXT))

WEAK_TYPES = frozenset({PiiType.NL_BSN, PiiType.US_SSN, PiiType.DE_IDNR, PiiType.FR_NIR, PiiType.PAYMENT_CARD})
# Types for which "nearly every bare number in this column passes the checksum" is evidence. A US
# SSN is not among them: most random 9-digit numbers are valid SSNs.
COLUMN_STAT_TYPES = frozenset({PiiType.NL_BSN, PiiType.DE_IDNR, PiiType.FR_NIR, PiiType.PAYMENT_CARD})

_KEYWORDS: dict[PiiType, re.Pattern[str]] = {
    PiiType.US_SSN: re.compile(r"\bssn\b|social security"),
    PiiType.NL_BSN: re.compile(r"\bbsn\b|burgerservice|sofi-?nummer"),
    PiiType.DE_IDNR: re.compile(r"steuer|\bidnr\b|identifikationsnummer|\btax id\b"),
    PiiType.FR_NIR: re.compile(r"\bnir\b|insee|s[ée]curit[ée] sociale|num[ée]ro de s[ée]cu"),
    PiiType.PAYMENT_CARD: re.compile(r"card|\bvisa\b|mastercard|\bamex\b|\bcc\b|kaart|karte|carte"),
}
_KEYWORD_WINDOW = 32

# RE2 (Arrow) syntax: a superset of what the precise patterns below can match.
_KEYWORD_PREFILTER = (
    r"(?i:\bssn\b|social security|\bbsn\b|burgerservice|sofi-?nummer|steuer|\bidnr\b|identifikationsnummer"
    r"|\btax id\b|\bnir\b|insee|curit. sociale|ro de s.cu|card|\bvisa\b|mastercard|\bamex\b|\bcc\b|kaart"
    r"|karte|carte|\bdob\b|d\.o\.b|date of birth|birth ?date|\bborn\b|geboren|\bn.e le\b)"
)
_BARE_DIGITS_PREFILTER = r"\b[0-9]{9,19}\b"
# Any value with a character outside ASCII goes to the precise analysis: there it is normalised (NFKC,
# Unicode digits and spaces) before matching, which an ASCII pattern here cannot anticipate. RE2's
# \b and \d are ASCII-only (https://github.com/google/re2/wiki/Syntax: "\b at ASCII word boundary"),
# so no RE2 pattern here may be the only reason a value with non-ASCII letters or digits is selected.
NON_ASCII_PREFILTER = r"[^\x00-\x7f]"
_STRUCTURED_PREFILTER = "|".join(
    (
        NON_ASCII_PREFILTER,
        r"[A-Za-z0-9._%+-]@[A-Za-z0-9-]",
        r"\+[ (]?[0-9]",
        r"\b(?i:" + "|".join(IBAN_COUNTRIES) + r")[0-9]{2}",
        r"\b[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}\b",
        r"\b[0-9]{4}[ -][0-9]{4,6}[ -][0-9]{4,5}",
        r"\b[0-9]{4}\.[0-9]{2}\.[0-9]{3}\b",
        r"\b[0-9]{2} [0-9]{3} [0-9]{3} [0-9]{3}\b",
        r"\b[1-478] [0-9]{2} [0-9]{2} ",
        r"\b[1-478][0-9]{4}2[ABab][0-9]{8}\b",
        r"\b[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b",
        r"\b[0-9]{8}[ -]?[A-Za-z]\b",
        r"\b[XYZxyz][ -]?[0-9]{7}[ -]?[A-Za-z]\b",
        r"\b[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z]",
        r"\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b",
        r"::|[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:",
        _KEYWORD_PREFILTER,
    )
)
BARE_DIGITS_PREFILTER = _BARE_DIGITS_PREFILTER


def prefilter(*, bare_digits: bool) -> str:
    """The RE2 pattern selecting values worth a precise look (deny-listed names: :class:`DenyList`)."""
    return _STRUCTURED_PREFILTER + "|" + _BARE_DIGITS_PREFILTER if bare_digits else _STRUCTURED_PREFILTER


# --------------------------------------------------------------------------- normalisation


class _Fold(dict[int, int | str | None]):
    """``str.translate`` table, filled on first use per character: every Unicode space separator (and
    line/paragraph separator) becomes a space, every Unicode decimal digit its ASCII digit, every dash
    a hyphen-minus, and format characters (zero-width space and joiners, soft hyphen, bidirectional
    controls) disappear, so that none of them can split or disguise a number, address or name."""

    def __missing__(self, code: int) -> int | str | None:
        char = chr(code)
        category = unicodedata.category(char)
        mapped: int | str | None = code
        if category in ("Zs", "Zl", "Zp"):
            mapped = " "
        elif category == "Nd":
            mapped = str(unicodedata.decimal(char))
        elif category == "Pd":
            mapped = "-"
        elif category == "Cf":
            mapped = None
        self[code] = mapped
        return mapped


_FOLD = _Fold()


def normalize(text: str) -> str:
    """The text the detectors match: Unicode NFKC (full-width forms, no-break and thin spaces become
    their ASCII counterparts), then :class:`_Fold`. ASCII text is returned unchanged. Findings are
    reported per row and type, never by position, so the change of length does not matter."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).translate(_FOLD)


# An e-mail address is found from its "@": the local part is read backwards (at most 64 characters,
# RFC 5321 section 4.5.3.1.1), the domain matched forwards with bounded labels, so the work per "@" is
# bounded and a scan is linear in the length of the value. Letters of any script are allowed on both
# sides (internationalised addresses, RFC 6531; IDN domains, RFC 5890), and so is an A-label (xn--).
_EMAIL_LOCAL_MAX = 64
_EMAIL_LOCAL_EXTRA = frozenset("._%+-")
_EMAIL_DOMAIN = re.compile(r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.){1,126}(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})(?![\w-])")
_PHONE = re.compile(r"(?<![\w+])\(?\+[ ]?\(?\d[\d ().-]{5,20}\d(?![\w])")
_NOT_DIGIT = re.compile(r"\D")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?(?![A-Za-z0-9])")
_SSN_FORMATTED = re.compile(r"(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w]|-\d)")
_CARD_FORMATTED = re.compile(r"(?<![\w-])(?:\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{5})(?![\w]|[ -]\d)")
_BSN_FORMATTED = re.compile(r"(?<![\w.])\d{4}\.\d{2}\.\d{3}(?![\w]|\.\d)")
_IDNR_FORMATTED = re.compile(r"(?<![\w])(?<!\d )\d{2} \d{3} \d{3} \d{3}(?![\w]| \d)")
_NIR = re.compile(r"(?<![\w])[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3} ?\d{2}(?![\w]| \d)")
_BARE_DIGITS = re.compile(r"(?<![\w.+])\d{9,19}(?![\w]|[.,]\d)")
_NINO = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2}) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])(?![A-Za-z0-9])")
_DNI = re.compile(r"(?<![\w])(\d{8})[ -]?([A-Za-z])(?![\w])")
_NIE = re.compile(r"(?<![\w])([XYZxyz])[ -]?(\d{7})[ -]?([A-Za-z])(?![\w])")
_CF = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}"
    r"[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z](?![A-Za-z0-9])"
)
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\w)")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?![\w:])")
_DATE = (
    r"(?:\d{4}-\d{2}-\d{2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2} [A-Za-z]{3,9},? \d{4}|[A-Za-z]{3,9} \d{1,2},? \d{4})"
)
_DOB_IN_TEXT = re.compile(
    r"(?i)(?:\bdob\b|\bd\.o\.b\.?|\bdate of birth\b|\bbirth ?date\b|\bborn(?: on)?\b|\bgeboren(?: am| op)?\b"
    r"|\bn[ée]e? le\b)\W{0,3}" + _DATE
)
_WORDS = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_LETTERS = re.compile(r"[a-z]+|[^\W\d_]+")

NINO_BAD_PREFIXES = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})


def has_email(text: str) -> bool:
    """Whether ``text`` holds an e-mail address; linear in the length of ``text``."""
    at = text.find("@")
    while at >= 0:
        start = at
        while start > 0 and at - start <= _EMAIL_LOCAL_MAX:
            char = text[start - 1]
            if not (char.isalnum() or char in _EMAIL_LOCAL_EXTRA):
                break
            start -= 1
        local = text[start:at]
        if 0 < len(local) <= _EMAIL_LOCAL_MAX and not local.startswith(".") and ".." not in local:
            domain = _EMAIL_DOMAIN.match(text, at + 1)
            if domain is not None and len(domain.group()) <= 253:
                return True
        at = text.find("@", at + 1)
    return False


def _valid_iban(candidate: str) -> bool:
    text = candidate.upper()
    if text[:2] not in IBAN_COUNTRIES:
        return False
    while True:
        if iban.is_valid(text):
            return True
        cut = text.rfind(" ")
        if cut < 8:
            return False
        text = text[:cut]


def valid_card(digits: str) -> bool:
    """Luhn plus issuer prefix and length sanity for a payment card number."""
    length = len(digits)
    if not 12 <= length <= 19 or not luhn.is_valid(digits):
        return False
    p2, p3, p4 = int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4":
        return length in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return length == 16
    if p2 in (34, 37):
        return length == 15
    if p4 == 6011 or p2 == 65 or 644 <= p3 <= 649 or p2 == 62 or 3528 <= p4 <= 3589:
        return 16 <= length <= 19
    if p2 in (36, 38, 39) or 300 <= p3 <= 305:
        return 14 <= length <= 19
    if p2 in (50, 56, 57, 58, 63, 67):
        return 12 <= length <= 19
    return False


def valid_nir(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if len(compact) != 15 or compact[0] not in "1278":
        return False
    month = int(compact[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    return nir.is_valid(compact)


def valid_nino(prefix: str, suffix: str) -> bool:
    """UK National Insurance number: format rules only, the number has no check digit."""
    first, second = prefix[0], prefix[1]
    return first not in "DFIQUV" and second not in "DFIQUVO" and prefix not in NINO_BAD_PREFIXES and suffix in "ABCD"


_BARE_VALIDATORS: dict[PiiType, Callable[[str], bool]] = {
    PiiType.NL_BSN: bsn.is_valid,
    PiiType.US_SSN: ssn.is_valid,
    PiiType.DE_IDNR: idnr.is_valid,
    PiiType.PAYMENT_CARD: valid_card,
}


def _bare_kinds(length: int) -> tuple[PiiType, ...]:
    if length == 9:
        return (PiiType.NL_BSN, PiiType.US_SSN)
    if length == 11:
        return (PiiType.DE_IDNR,)
    if 13 <= length <= 19:
        return (PiiType.PAYMENT_CARD,)
    return ()


@dataclass(slots=True)
class CellResult:
    """What one value holds: confirmed types, and bare numbers that fill the whole value."""

    found: set[PiiType] = field(default_factory=set)
    whole_value: list[tuple[PiiType, bool]] = field(default_factory=list)


def _has_keyword(lowered: str, start: int, kind: PiiType) -> bool:
    return _KEYWORDS[kind].search(lowered, max(0, start - _KEYWORD_WINDOW), start) is not None


class DenyList:
    """Deny-listed names, matched word by word (no regular expression, so no size limit of an engine).

    A name is the sequence of its words (:data:`_WORDS` over its normalised, case-folded text); a value
    holds it when the same words follow one another in the value. Word boundaries are Unicode-aware, so
    a name that starts or ends with a letter outside ASCII is found like any other.
    """

    def __init__(self, names: frozenset[str] = frozenset()) -> None:
        single: set[str] = set()
        multi: set[tuple[str, ...]] = set()
        first: set[str] = set()
        for name in names:
            words = tuple(_WORDS.findall(normalize(name).casefold()))
            if not words:
                continue
            if len(words) == 1:
                single.add(words[0])
            else:
                multi.add(words)
            # The Arrow preselection splits on every non-letter: the first letter run of the name.
            first.add(_LETTERS.findall(words[0])[0])
        self.single = frozenset(single)
        self.multi = frozenset(multi)
        self.lengths = tuple(sorted({len(words) for words in multi}))
        self.first_tokens = frozenset(first)
        self._pattern: str | None = None

    def __bool__(self) -> bool:
        return bool(self.single or self.multi)

    def found_in(self, folded: str) -> bool:
        """Whether the normalised, case-folded text holds a name; linear in the number of its words."""
        words = _WORDS.findall(folded)
        if any(word in self.single for word in words):
            return True
        for length in self.lengths:
            for start in range(len(words) - length + 1):
                if tuple(words[start : start + length]) in self.multi:
                    return True
        return False

    def preselect(self, values: pa.Array) -> pa.Array:
        """A boolean mask of values that may hold a name: a lower-cased run of ASCII letters is the first
        word of a name. Values with any character outside ASCII are selected by the prefilter anyway.

        A short list of first words is one RE2 pattern (fast); a long one, which could exceed RE2's
        memory bound, is matched as a set against the words of each value (no size limit)."""
        if len(self._first_pattern) <= _RE2_NAMES_MAX:
            return pc.fill_null(pc.match_substring_regex(values, self._first_pattern), False)
        tokens = pc.split_pattern_regex(pc.utf8_lower(values), r"[^a-z]+")
        hits = pc.is_in(pc.list_flatten(tokens), value_set=pa.array(sorted(self.first_tokens), type=pa.string()))
        parents = pc.unique(pc.filter(pc.list_parent_indices(tokens), hits))
        return pc.is_in(pa.array(range(len(values)), type=pa.int64()), value_set=parents)

    @property
    def _first_pattern(self) -> str:
        if self._pattern is None:
            ascii_tokens = sorted(token for token in self.first_tokens if token.isascii())
            self._pattern = (
                r"(?i:(?:^|[^a-z])(?:" + "|".join(ascii_tokens) + r")(?:[^a-z]|$))" if ascii_tokens else r"a^"
            )
        return self._pattern


_RE2_NAMES_MAX = 64 * 1024


class Analyzer:
    """Precise detection on single values (applied to values that passed the prefilter)."""

    def __init__(self, deny_list: frozenset[str] | DenyList = frozenset()) -> None:
        self.deny_list = deny_list if isinstance(deny_list, DenyList) else DenyList(deny_list)

    @staticmethod
    def _numbers(
        text: str, base: int, lowered: str, stripped: str, hints: frozenset[PiiType], result: CellResult
    ) -> None:
        """The detectors that need an ASCII digit, over ``text`` (a part of the value starting at ``base``
        in ``lowered``; ``stripped`` is the whole value, stripped)."""
        found = result.found
        for match in _IBAN.finditer(text):
            if _valid_iban(match.group()):
                found.add(PiiType.IBAN)
                break
        for match in _SSN_FORMATTED.finditer(text):
            if ssn.is_valid(match.group(1) + match.group(3) + match.group(4)):
                found.add(PiiType.US_SSN)
                break
        for match in _CARD_FORMATTED.finditer(text):
            if valid_card(re.sub(r"\D", "", match.group())):
                found.add(PiiType.PAYMENT_CARD)
                break
        for match in _BSN_FORMATTED.finditer(text):
            if bsn.is_valid(match.group().replace(".", "")):
                found.add(PiiType.NL_BSN)
                break
        for match in _IDNR_FORMATTED.finditer(text):
            if idnr.is_valid(match.group().replace(" ", "")):
                found.add(PiiType.DE_IDNR)
                break
        for match in _NIR.finditer(text):
            token = match.group()
            if not valid_nir(token):
                continue
            if (
                token.count(" ") >= 4
                or PiiType.FR_NIR in hints
                or _has_keyword(lowered, base + match.start(), PiiType.FR_NIR)
            ):
                found.add(PiiType.FR_NIR)
            elif token == stripped:
                result.whole_value.append((PiiType.FR_NIR, True))
        for match in _BARE_DIGITS.finditer(text):
            digits = match.group()
            whole = digits == stripped
            for kind in _bare_kinds(len(digits)):
                if kind in found:
                    continue
                if kind in hints or _has_keyword(lowered, base + match.start(), kind):
                    if _BARE_VALIDATORS[kind](digits):
                        found.add(kind)
                elif whole and kind in COLUMN_STAT_TYPES:
                    result.whole_value.append((kind, _BARE_VALIDATORS[kind](digits)))
        for match in _NINO.finditer(text):
            if valid_nino(match.group(1), match.group(5)):
                found.add(PiiType.UK_NINO)
                break
        for match in _DNI.finditer(text):
            if dni.is_valid(match.group(1) + match.group(2).upper()):
                found.add(PiiType.ES_DNI)
                break
        if PiiType.ES_DNI not in found:
            for match in _NIE.finditer(text):
                if nie.is_valid("".join(match.groups()).upper()):
                    found.add(PiiType.ES_DNI)
                    break
        if "." in text:
            for match in _IPV4.finditer(text):
                if _valid_ip(match.group(), ipaddress.IPv4Address):
                    found.add(PiiType.IP_ADDRESS)
                    break
        if _DOB_IN_TEXT.search(text):
            found.add(PiiType.DATE_OF_BIRTH)

    def analyze(self, raw: str, hints: frozenset[PiiType] = frozenset()) -> CellResult:
        result = CellResult()
        found = result.found
        text = normalize(raw)
        lowered = text.lower()
        stripped = text.strip()

        if "@" in text and has_email(text):
            found.add(PiiType.EMAIL)
        if "+" in text:
            for match in _PHONE.finditer(text):
                if _possible_phone(match.group()):
                    found.add(PiiType.PHONE)
                    break
        if len(text) <= _WINDOW_FROM:
            if _ANY_DIGIT.search(text) is not None:
                self._numbers(text, 0, lowered, stripped, hints, result)
        else:
            for begin, finish in _digit_windows(text):
                self._numbers(text[begin:finish], begin, lowered, stripped, hints, result)
        for match in _CF.finditer(text):
            if codicefiscale.is_valid(match.group().upper()):
                found.add(PiiType.IT_CODICE_FISCALE)
                break
        if ":" in text and PiiType.IP_ADDRESS not in found:
            for match in _IPV6.finditer(text):
                token = match.group()
                if sum(char not in ":." for char in token) >= 3 and _valid_ip(token, ipaddress.IPv6Address):
                    found.add(PiiType.IP_ADDRESS)
                    break
        if self.deny_list and self.deny_list.found_in(text.casefold()):
            found.add(PiiType.PERSON_NAME)
        return result


_ANY_DIGIT = re.compile(r"[0-9]")
_DIGIT_GAP = re.compile(r"[^0-9]{128,}")
# Values longer than this are searched for numbers only around their digits: every pattern of
# ``Analyzer._numbers`` holds a digit and reaches at most this far from its digits (keywords, letters of
# an IBAN or NINO, a month name), so a long value costs time in proportion to its digits, not its length.
_WINDOW_FROM = 4096
_MARGIN = 64


def _digit_windows(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` holding all its digits with :data:`_MARGIN` characters around them; spans closer
    than twice the margin are one. One regex search per span, so dense digits cost no Python loop."""
    windows: list[tuple[int, int]] = []
    digit = _ANY_DIGIT.search(text)
    while digit is not None:
        gap = _DIGIT_GAP.search(text, digit.start())
        finish = gap.start() if gap is not None else len(text)
        windows.append((max(0, digit.start() - _MARGIN), min(len(text), finish + _MARGIN)))
        digit = _ANY_DIGIT.search(text, gap.end()) if gap is not None else None
    return windows


def _possible_phone(candidate: str) -> bool:
    """An international number that is possible for its country (length and country code), whether or
    not its range is allocated today: recall matters more than the current numbering plan.
    ``is_possible_number`` "only checks the length of phone numbers ... it doesn't check starting digits",
    ``is_valid_number`` the allocated ranges as well (phonenumbers/phonenumberutil.py,
    ``is_possible_number_with_reason``; libphonenumber's PhoneNumberUtil.isPossibleNumberWithReason)."""
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_possible_number(number))


def _valid_ip(token: str, kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address]) -> bool:
    try:
        kind(token)
    except ValueError:
        return False
    return True


_NAME_TOKENS = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_PERSON_NAME_COLUMN = re.compile(
    r"(?:^|_)(?:(?:first|last|given|family|middle|maiden|full|sur|fore|nick|customer|contact|person|patient"
    r"|employee|holder|cardholder|account_holder|user|client|owner)_?name|surname|forename|firstname|lastname"
    r"|fullname|voornaam|achternaam|vorname|nachname|prenom|nom_de_famille|apellidos?|nombre_completo|cognome)(?:$|_)"
)
_DOB_COLUMN = re.compile(
    r"(?:^|_)(?:dob|date_of_birth|birth_?date|birth_?day|born(?:_on)?|geboortedatum|geburtsdatum"
    r"|date_de_naissance|fecha_de_nacimiento|data_di_nascita)(?:$|_)"
)
_HINT_COLUMNS: dict[PiiType, re.Pattern[str]] = {
    PiiType.US_SSN: re.compile(r"(?:^|_)(?:ssn|social_security(?:_number|_no)?)(?:$|_)"),
    PiiType.NL_BSN: re.compile(r"(?:^|_)(?:bsn|burgerservicenummer|sofi_?nummer)(?:$|_)"),
    PiiType.DE_IDNR: re.compile(r"(?:^|_)(?:idnr|steuer_?id|steuerid|tax_?id|steuer_?identifikationsnummer)(?:$|_)"),
    PiiType.FR_NIR: re.compile(r"(?:^|_)(?:nir|insee|numero_secu|secu)(?:$|_)"),
    PiiType.PAYMENT_CARD: re.compile(r"(?:^|_)(?:card|card_?number|cc_?num(?:ber)?|pan|credit_?card)(?:$|_)"),
}


def normalize_column_name(name: str) -> str:
    snake = _NAME_TOKENS.sub("_", name.strip())
    return re.sub(r"[^0-9a-z]+", "_", snake.lower()).strip("_")


@dataclass(frozen=True, slots=True)
class ColumnHints:
    """What a column's name says about its content."""

    person_name: bool
    date_of_birth: bool
    types: frozenset[PiiType]


def column_hints(name: str) -> ColumnHints:
    normalized = normalize_column_name(name)
    return ColumnHints(
        person_name=_PERSON_NAME_COLUMN.search(normalized) is not None,
        date_of_birth=_DOB_COLUMN.search(normalized) is not None,
        types=frozenset(kind for kind, pattern in _HINT_COLUMNS.items() if pattern.search(normalized)),
    )


# RE2: a value that is a date (optionally followed by a time), for columns named like a birth date.
DATE_VALUE_RE2 = (
    r"^\s*(?:[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2,4}|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}"
    r"|[0-9]{8}|[0-9]{1,2} [A-Za-z]{3,9},? [0-9]{4}|[A-Za-z]{3,9} [0-9]{1,2},? [0-9]{4})(?:[T ].*)?\s*$"
)
# RE2: a value that holds a letter, for columns named like a person's name.
NAME_VALUE_RE2 = r"\pL"


def all_types() -> Iterable[PiiType]:
    return (kind for kind in PiiType if kind not in (PiiType.NONE, PiiType.POSTCODE, PiiType.ADDRESS, PiiType.OTHER))
