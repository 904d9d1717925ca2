"""Is a code well formed in the system it claims? ICD-10, SNOMED CT, LOINC, ATC, RxNorm.

cvrisk holds no complete code list of any system, so it cannot tell that a well-formed code
exists; it can tell that a malformed one does not. A code that breaks its system's syntax
or check digit (``ZZZ99`` as ICD-10, ``F20.0`` declared as SNOMED CT) is a typing or mapping
error, and reading it as "no diagnosis" would silently drop what it stands for (QRISK3's
severe-mental-illness term for ``F20.0`` declared SNOMED CT). :func:`code_problem` says why
such a code cannot be right; the record refuses it (or, under lenient reading, skips it
with a data issue naming the code).

The rules, from each system's own specification:

- **ICD-10** (WHO ICD-10 2019, Volume 2, 2.4 "structure": a letter, two digits, and after a
  point up to one further digit; ICD-10-CM and other national modifications extend the
  fourth to seventh characters with digits and letters): a letter, a digit, a digit or
  letter, then optionally up to four digits or letters, with or without the point.
- **SNOMED CT** (SNOMED CT Release File Specification, 6.3 "SCTID constraints" and 6.4
  "Check-digit"): 6 to 18 decimal digits, no leading zero; the second and third digits from
  the right are the partition identifier, which for a concept is ``00`` (short format) or
  ``10`` (long format, an extension's namespace); the last digit is a Verhoeff check digit.
- **LOINC** (LOINC Users' Guide, appendix C "Calculating Mod 10 check digits"): digits, a
  hyphen and a Mod 10 check digit; 14 deprecated codes are known to have a wrong check digit
  and are accepted as the guide lists them.
- **ATC** (WHOCC, "Structure and principles"): levels 1 to 5: an anatomical main group
  letter (A B C D G H J L M N P R S V), two digits, a letter, a letter, two digits.
- **RxNorm** (NLM RxNorm technical documentation, RXCUI): a positive integer.
"""

from __future__ import annotations

import re

from cvrisk.errors import quoted

_ICD10 = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?")
_SNOMED = re.compile(r"[1-9][0-9]{5,17}")
_LOINC = re.compile(r"([0-9]{1,7})-([0-9])")
_ATC = re.compile(r"[ABCDGHJLMNPRSV](?:[0-9]{2}(?:[A-Z](?:[A-Z](?:[0-9]{2})?)?)?)?")
_RXNORM = re.compile(r"[1-9][0-9]{0,9}")

#: SNOMED CT partition identifiers of a concept: short (00) and long (10) format.
_CONCEPT_PARTITIONS = ("00", "10")

#: LOINC codes whose published check digit disagrees with the Mod 10 algorithm (LOINC Users'
#: Guide, appendix C, "Terms with invalid check digits"; all deprecated).
_LOINC_KNOWN_BAD_CHECK = frozenset(
    {
        "11491-6",
        "11501-6",
        "5895-7",
        "5896-5",
        "5897-3",
        "5928-1",
        "6028-3",
        "6415-5",
        "6580-7",
        "6645-7",
        "6646-5",
        "6647-3",
        "6648-1",
        "6649-9",
    }
)

# Verhoeff's dihedral group D5 tables (Verhoeff 1969), as the SNOMED CT specification uses.
_D5 = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_PERMUTATION = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_valid(digits: str) -> bool:
    """True when the last digit of ``digits`` is its Verhoeff check digit."""
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _D5[check][_PERMUTATION[position % 8][int(digit)]]
    return check == 0


def mod10_check_digit(digits: str) -> int:
    """The LOINC Mod 10 check digit of ``digits`` (LOINC Users' Guide, appendix C): the odd
    positions from the right doubled, the even ones as they are, digit sum, to the next ten."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 0:  # 1st, 3rd... from the right
            digit *= 2
            digit = digit - 9 if digit > 9 else digit  # the digit sum of 2d
        total += digit
    return (10 - total % 10) % 10


def code_problem(code: str, system: str) -> str | None:
    """Why ``code`` cannot be a code of ``system`` (a short name: icd10, snomed, loinc, atc,
    rxnorm), or None when it is well formed there (it may still not exist)."""
    text = code.strip()
    if system == "icd10":
        if _ICD10.fullmatch(text.upper()):
            return None
        return (
            f"{quoted(code)} is not an ICD-10 code (a letter, two digits, then up to four "
            "characters after an optional point, e.g. F20.0)" + _elsewhere(text, system)
        )
    if system == "snomed":
        if not _SNOMED.fullmatch(text):
            return (
                f"{quoted(code)} is not a SNOMED CT concept id (6 to 18 digits, e.g. "
                "58214004)" + _elsewhere(text, system)
            )
        if not verhoeff_valid(text):
            return f"{text} is not a SNOMED CT id: its check digit is wrong (a typing error?)"
        if text[-3:-1] not in _CONCEPT_PARTITIONS:
            return (
                f"{text} is a SNOMED CT id but not of a concept (partition {text[-3:-1]}: a "
                "description or relationship id); give the concept id"
            )
        return None
    if system == "loinc":
        match = _LOINC.fullmatch(text)
        if not match:
            return f"{quoted(code)} is not a LOINC code (digits, a hyphen, a check digit)"
        if text in _LOINC_KNOWN_BAD_CHECK:
            return None
        if mod10_check_digit(match.group(1)) != int(match.group(2)):
            return f"{text} is not a LOINC code: its check digit is wrong (a typing error?)"
        return None
    if system == "atc":
        if _ATC.fullmatch(text.upper()):
            return None
        return f"{quoted(code)} is not an ATC code (e.g. N05AH02)" + _elsewhere(text, system)
    if system == "rxnorm":
        if _RXNORM.fullmatch(text):
            return None
        return f"{quoted(code)} is not an RxNorm RXCUI (a positive integer, e.g. 2626)" + (
            _elsewhere(text, system)
        )
    return None


def _elsewhere(code: str, declared: str) -> str:
    """A hint when the code has the form of another system (it was declared wrongly)."""
    for system, pattern in (("ICD-10", _ICD10), ("ATC", _ATC), ("SNOMED CT", _SNOMED)):
        if system.lower().replace("-", "").replace(" ct", "") == declared:
            continue
        if pattern.fullmatch(code.upper()) and not (system == "SNOMED CT" and len(code) < 6):
            return f"; it has the form of an {system} code: check the declared system"
    return ""
