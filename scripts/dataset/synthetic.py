"""Synthetic, checksum-valid personal data for planting into test and benchmark datasets.

Every value is made up: generated with the same validators the scanner uses, so planted values are
valid by construction and no real person's data is involved.
"""

from __future__ import annotations

import random
import string

from stdnum import iban, luhn
from stdnum.de import idnr
from stdnum.es import dni
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.nl import bsn

from .manifest import PiiType

PHONES = ("+31 6 12345678", "+44 20 7946 0958", "+49 30 901820", "+33 1 42 68 53 00", "+1 202 456 1111")


class Synthetic:
    """Deterministic generators of valid identifiers (seeded)."""

    def __init__(self, seed: int = 7) -> None:
        self.random = random.Random(seed)  # noqa: S311 - reproducible made-up data, not secrets

    def digits(self, count: int) -> str:
        return "".join(self.random.choice(string.digits) for _ in range(count))

    def bsn(self) -> str:
        while True:
            candidate = str(self.random.randint(100_000_000, 999_999_999))
            if bsn.is_valid(candidate):
                return candidate

    def ssn(self) -> str:
        area = self.random.choice([n for n in range(1, 900) if n != 666])
        return f"{area:03d}-{self.random.randint(1, 99):02d}-{self.random.randint(1, 9999):04d}"

    def idnr(self) -> str:
        while True:
            first = self.random.sample(string.digits[1:], 1) + self.random.sample(string.digits, 8)
            body = [*first, first[self.random.randint(0, 8)]]
            self.random.shuffle(body)
            if body[0] == "0":
                continue
            candidate = "".join(body)
            for check in string.digits:
                if idnr.is_valid(candidate + check):
                    return candidate + check

    def nir(self) -> str:
        body = (
            f"{self.random.choice('12')}{self.random.randint(40, 99):02d}{self.random.randint(1, 12):02d}"
            f"{self.random.randint(1, 95):02d}{self.digits(3)}{self.digits(3)}"
        )
        return body + nir.calc_check_digits(body)

    def nino(self) -> str:
        first = self.random.choice("ABCEGHJKLMNPRSTWXYZ")
        second = self.random.choice("ABCEGHJKLMNPRSTWXYZ")
        if first + second in ("GB", "NK", "KN", "TN", "NT", "ZZ", "BG"):
            first = "A"
        return f"{first}{second}{self.digits(6)}{self.random.choice('ABCD')}"

    def dni(self) -> str:
        number = self.digits(8)
        return number + dni.calc_check_digit(number)

    def codice_fiscale(self) -> str:
        letters = "".join(self.random.choice(string.ascii_uppercase) for _ in range(6))
        month = self.random.choice("ABCDEHLMPRST")
        body = f"{letters}{self.random.randint(40, 99)}{month}{self.random.randint(1, 28):02d}"
        body += f"{self.random.choice('ABCDEFGHILMZ')}{self.digits(3)}"
        return body + codicefiscale.calc_check_digit(body)

    def iban(self) -> str:
        bank = "".join(self.random.choice(string.ascii_uppercase) for _ in range(4))
        account = self.digits(10)
        check = iban.calc_check_digits(f"NL00{bank}{account}")
        return f"NL{check}{bank}{account}"

    def card(self) -> str:
        body = "4" + self.digits(14)
        return body + luhn.calc_check_digit(body)

    def email(self) -> str:
        name = "".join(self.random.choice(string.ascii_lowercase) for _ in range(7))
        return f"{name}.{self.random.randint(1, 999)}@example.org"

    def phone(self) -> str:
        return self.random.choice(PHONES)

    def ipv4(self) -> str:
        return f"203.0.113.{self.random.randint(1, 254)}"

    def ipv6(self) -> str:
        return f"2001:db8:{self.random.randint(1, 0xFFFF):x}::{self.random.randint(1, 0xFFFF):x}"

    def date_of_birth(self) -> str:
        return f"{self.random.randint(1940, 2005)}-{self.random.randint(1, 12):02d}-{self.random.randint(1, 28):02d}"

    def sentence(self, kind: PiiType) -> str:
        """A free-text sentence that mentions one planted value of ``kind``, in a written format."""
        group = " ".join
        if kind is PiiType.EMAIL:
            return f"customer wrote from {self.email()} about the invoice"
        if kind is PiiType.PHONE:
            return f"call back on {self.phone()} tomorrow"
        spaced = self.random.random() < 0.5
        if kind is PiiType.IBAN:
            value = self.iban()
            if spaced:
                value = group(value[i : i + 4] for i in range(0, len(value), 4))
            return f"refund to {value} please"
        if kind is PiiType.PAYMENT_CARD:
            value = self.card()
            separator = "-" if spaced else " "
            return f"paid by card {separator.join(value[i : i + 4] for i in range(0, 16, 4))} yesterday"
        if kind is PiiType.IP_ADDRESS:
            return f"login from {self.ipv4() if spaced else self.ipv6()} blocked"
        if kind is PiiType.NL_BSN:
            value = self.bsn()
            return f"BSN {value[:4]}.{value[4:6]}.{value[6:]} checked" if spaced else f"BSN {value} checked at the desk"
        if kind is PiiType.US_SSN:
            value = self.ssn()
            return f"her SSN is {value.replace('-', ' ') if spaced else value} per the form"
        if kind is PiiType.UK_NINO:
            value = self.nino()
            if spaced:
                value = f"{value[:2]} {value[2:4]} {value[4:6]} {value[6:8]} {value[8]}"
            return f"NI number {value} on file"
        if kind is PiiType.DE_IDNR:
            value = self.idnr()
            if spaced:
                value = f"{value[:2]} {value[2:5]} {value[5:8]} {value[8:]}"
            return f"Steuer-ID {value} received"
        if kind is PiiType.FR_NIR:
            value = self.nir()
            if spaced:
                value = group((value[0], value[1:3], value[3:5], value[5:7], value[7:10], value[10:13], value[13:]))
            return f"NIR {value} transmis"
        if kind is PiiType.ES_DNI:
            value = self.dni()
            return f"DNI {value[:8]}-{value[8]} verificado" if spaced else f"DNI {value} verificado"
        if kind is PiiType.IT_CODICE_FISCALE:
            return f"codice fiscale {self.codice_fiscale()} allegato"
        if kind is PiiType.DATE_OF_BIRTH:
            return f"DOB: {self.date_of_birth()} confirmed by phone"
        raise ValueError(f"no sentence for {kind}")


PLANTABLE = (
    PiiType.EMAIL,
    PiiType.PHONE,
    PiiType.IBAN,
    PiiType.PAYMENT_CARD,
    PiiType.IP_ADDRESS,
    PiiType.NL_BSN,
    PiiType.US_SSN,
    PiiType.UK_NINO,
    PiiType.DE_IDNR,
    PiiType.FR_NIR,
    PiiType.ES_DNI,
    PiiType.IT_CODICE_FISCALE,
    PiiType.DATE_OF_BIRTH,
)
