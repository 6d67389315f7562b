"""The French user guide (docs/fr/) keeps pace with the English one.

Rules, each a test below:

- Every English guide, docs/*.md (globbed, so a new guide counts at once), has a French
  counterpart in ``COUNTERPARTS``; the README's user-facing sections have
  docs/fr/demarrage-rapide.md.
- Each French file exists and is non-trivial: at least ``MIN_WORDS`` words of prose and at
  least ``MIN_RATIO`` of the prose words of its English original (French runs longer than
  English, so a full translation clears this easily; a stub or half a guide does not).
- The command examples are the same. A command example is a logical line (``\\``
  continuations joined) inside a fenced code block that, once leading ``VAR=value``
  assignments and a ``$ `` prompt are removed, starts with ``reprise ``, ``sudo reprise `` or
  ``bash scripts/``. Comments (`` #`` outside quotes) are dropped, since comments inside code
  blocks may be translated, and whitespace is collapsed. The examples are compared as
  *multisets*: code blocks are carried over verbatim, so every example appears as many times
  as in the English guide; a set would hide a dropped section whose commands also appear in
  another section, and a multiset still allows any order.
- README.md -> demarrage-rapide.md compares only the README's user-facing sections: the
  README is cut into ``## `` sections and a section whose title mentions developers
  (``develop``, any case) is left out, with everything after it up to the next ``## ``
  heading. The rule follows the heading, not a line number, so it survives edits above or
  below, and a new user-facing section's commands count at once.
- Every relative link in docs/fr/*.md (outside code) resolves to an existing file (and its
  ``#anchor`` to a heading of that file, slugged as GitHub does), and a
  link to an English guide that has a French counterpart is refused: French pages link
  French pages (the English README excepted: its developer section has no counterpart).
- docs/fr/README.md (the index by role) links every French guide.
- The text is French: the narrow no-break space (U+202F) is used before ``:``; never an
  ordinary space before ``: ; ! ?``, never ``« »`` without a no-break space inside, never two
  no-break spaces in a row; and French stopwords outnumber English ones three to one in the
  prose, so an untranslated copy fails.

A pair whose English guide does not exist (yet) is skipped, so the mapping can name a guide
before it is written; once it exists, its French counterpart is required.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO

DOCS = REPO / "docs"
FR = DOCS / "fr"
README = REPO / "README.md"
INDEX = FR / "README.md"

#: English guide (relative to the repository) -> its French counterpart.
COUNTERPARTS: dict[str, str] = {
    "README.md": "docs/fr/demarrage-rapide.md",
    "docs/architecture.md": "docs/fr/architecture.md",
    "docs/backups.md": "docs/fr/sauvegardes.md",
    "docs/compliance.md": "docs/fr/conformite.md",
    "docs/doctor.md": "docs/fr/diagnostic.md",
    "docs/incidents.md": "docs/fr/gestion-incident.md",
    "docs/install.md": "docs/fr/installation.md",
    "docs/metrics.md": "docs/fr/metriques.md",
    "docs/monitoring.md": "docs/fr/surveillance.md",
    "docs/plan-reference.md": "docs/fr/reference-du-plan.md",
    "docs/repository-format.md": "docs/fr/format-du-depot.md",
    "docs/restore-without-reprise.md": "docs/fr/restaurer-sans-reprise.md",
    "docs/restore.md": "docs/fr/restauration-et-pitr.md",
    "docs/security.md": "docs/fr/securite.md",
    "docs/service.md": "docs/fr/service.md",
    "docs/web.md": "docs/fr/web.md",
}

#: French guides with no English original, linked from the index all the same.
FRENCH_ONLY = ("docs/fr/exploitation-quotidienne.md",)

MIN_WORDS = 150
MIN_RATIO = 0.5

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^## +(.*)$")
ASSIGNMENT = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)+")
COMMAND = re.compile(r"^(?:\$ )?(?:sudo )?reprise |^(?:\$ )?bash scripts/")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
INLINE_CODE = re.compile(r"`+[^`]*`+")
URL = re.compile(r"<?https?://\S+")
#: An ordinary space before : ; ! ? or inside « », guillemets with no space, doubled spaces.
TYPOGRAPHY = re.compile(
    r"\S* [:;!?](?=\s|$|[)\]*_»,.])|« |\S »|«(?![\u202f\u00a0])|(?<![\u202f\u00a0\s])»"
    r"|[\u202f\u00a0]{2,}"
)
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")

_FRENCH = "le la les des du une est sont pour dans qui que sur pas avec ce cette aux elle il ou"
_ENGLISH = "the and is are of to with for that this from it be by when which what"
FRENCH_WORDS = frozenset(_FRENCH.split())
ENGLISH_WORDS = frozenset(_ENGLISH.split())


def read(relative: str) -> str:
    return (REPO / relative).read_text(encoding="utf-8")


def split_code(text: str) -> tuple[list[str], list[str]]:
    """Return (lines inside fenced code blocks, lines outside them)."""
    code: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        opening = FENCE.match(line)
        if opening and (fence is None or opening.group(1) == fence):
            fence = None if fence else opening.group(1)
            continue
        (code if fence else prose).append(line)
    return code, prose


def strip_comment(line: str) -> str:
    """The line without a shell comment (a ``#`` after whitespace, outside quotes)."""
    quote: str | None = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def commands(text: str) -> Counter[str]:
    """The command examples of a Markdown text, as a multiset (see the module docstring)."""
    code, _ = split_code(text)
    logical: list[str] = []
    pending = ""
    for raw in code:
        line = strip_comment(raw).rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    found: Counter[str] = Counter()
    for line in logical:
        line = " ".join(line.split())
        line = ASSIGNMENT.sub("", line.removeprefix("$ "))
        if COMMAND.match(line):
            found[line.removeprefix("$ ")] += 1
    return found


def user_sections(text: str) -> str:
    """The README without its developer sections (see the module docstring)."""
    kept: list[str] = []
    keep = True
    fence = False
    for line in text.splitlines():
        if FENCE.match(line):
            fence = not fence
        heading = None if fence else HEADING.match(line)
        if heading:
            keep = "develop" not in heading.group(1).lower()
        if keep:
            kept.append(line)
    return "\n".join(kept)


def english_text(relative: str) -> str:
    text = read(relative)
    return user_sections(text) if relative == "README.md" else text


def prose(text: str) -> str:
    """Text outside code blocks, inline code and URLs: what a translator writes."""
    _, lines = split_code(text)
    joined = "\n".join(lines)
    return URL.sub(" ", INLINE_CODE.sub(" ", joined))


def words(text: str) -> list[str]:
    return [word.lower() for word in WORD.findall(prose(text))]


def links(text: str) -> list[str]:
    return LINK.findall(prose_keeping_links(text))


def prose_keeping_links(text: str) -> str:
    _, lines = split_code(text)
    return INLINE_CODE.sub(" ", "\n".join(lines))


def anchors(path: Path) -> set[str]:
    """The heading anchors of a Markdown file, as GitHub spells them (accents kept)."""
    found: set[str] = set()
    _, lines = split_code(path.read_text(encoding="utf-8"))
    for line in lines:
        heading = re.match(r"^#{1,6} +(.*?) *#* *$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            unique, count = slug, 0
            while unique in found:
                count += 1
                unique = f"{slug}-{count}"
            found.add(unique)
    return found


def english_guides() -> list[str]:
    return sorted(path.relative_to(REPO).as_posix() for path in DOCS.glob("*.md"))


PAIRS = sorted(COUNTERPARTS.items())


def test_every_english_guide_has_a_french_counterpart() -> None:
    missing = [guide for guide in english_guides() if guide not in COUNTERPARTS]
    assert missing == [], (
        f"English guides without a French counterpart: {', '.join(missing)}. "
        "Write the French guide under docs/fr/ and add the pair to COUNTERPARTS "
        "in tests/unit/test_docs_fr.py."
    )


@pytest.mark.parametrize(("english", "french"), PAIRS, ids=[fr for _, fr in PAIRS])
def test_the_french_counterpart_exists_and_is_not_trivial(english: str, french: str) -> None:
    if not (REPO / english).exists():
        pytest.skip(f"{english} does not exist (yet)")
    assert (REPO / french).is_file(), f"{french} (the French {english}) is missing"
    ours = len(words(read(french)))
    theirs = len(words(english_text(english)))
    assert ours >= MIN_WORDS, f"{french}: only {ours} words of prose"
    assert ours >= MIN_RATIO * theirs, (
        f"{french}: {ours} words of prose against {theirs} in {english}: sections are missing"
    )


@pytest.mark.parametrize(("english", "french"), PAIRS, ids=[fr for _, fr in PAIRS])
def test_the_command_examples_are_the_same(english: str, french: str) -> None:
    if not (REPO / english).exists():
        pytest.skip(f"{english} does not exist (yet)")
    assert (REPO / french).is_file(), f"{french} (the French {english}) is missing"
    expected = commands(english_text(english))
    actual = commands(read(french))
    missing = sorted((expected - actual).elements())
    extra = sorted((actual - expected).elements())
    assert (missing, extra) == ([], []), (
        f"{french} against {english}: missing examples {missing}, "
        f"examples not in the English guide {extra}"
    )


def french_files() -> list[Path]:
    return sorted(FR.glob("*.md")) if FR.is_dir() else []


@pytest.mark.parametrize("path", french_files(), ids=[path.name for path in french_files()])
def test_every_relative_link_resolves_to_a_french_page(path: Path) -> None:
    english_with_counterpart = {
        (REPO / english).resolve() for english in COUNTERPARTS if english != "README.md"
    }
    broken: list[str] = []
    english: list[str] = []
    for target in links(read(path.relative_to(REPO).as_posix())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.exists():
            broken.append(target)
        elif resolved in english_with_counterpart:
            english.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(target)
    assert broken == [], f"{path.name}: links to missing files or headings {broken}"
    assert english == [], f"{path.name}: links to English guides, link the French ones {english}"


def test_the_index_links_every_french_guide() -> None:
    assert INDEX.is_file(), "docs/fr/README.md (the index by role) is missing"
    linked = {
        (FR / target.split("#", 1)[0]).resolve()
        for target in links(INDEX.read_text(encoding="utf-8"))
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target)
    }
    guides = sorted(set(COUNTERPARTS.values()) | set(FRENCH_ONLY))
    unlinked = [guide for guide in guides if (REPO / guide).resolve() not in linked]
    assert unlinked == [], f"docs/fr/README.md does not link {unlinked}"


@pytest.mark.parametrize("path", french_files(), ids=[path.name for path in french_files()])
def test_the_text_is_french(path: Path) -> None:
    text = prose(path.read_text(encoding="utf-8"))
    assert "\u202f:" in text, f"{path.name}: no narrow no-break space before ':'"
    wrong = TYPOGRAPHY.findall(text)
    assert wrong == [], (
        f"{path.name}: French typography wants U+202F before : ; ! ? and inside « », "
        f"once: {wrong[:5]}"
    )
    counted = Counter(words(path.read_text(encoding="utf-8")))
    french = sum(counted[word] for word in FRENCH_WORDS)
    english = sum(counted[word] for word in ENGLISH_WORDS)
    assert french > 3 * english, (
        f"{path.name}: {french} French stopwords against {english} English ones: is it translated?"
    )
