"""The static verification site: a page per issued certificate, a form to enter a code.

Pages say only what verification needs (issuer, the name as printed, course, dates,
number, state); nothing else about the person. Publishing again rewrites only the pages
whose content changed, each atomically, so a web server never serves half a page.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path

from certify.locale import N_, in_language
from certify.register.codes import shown
from certify.register.keep import CertificateState, Entry

# English, marked for the catalogues: each certificate's page is in the language it was
# issued in, whatever the administrator reads (`in_language`)
WORDS: dict[str, str] = {
    "title": N_("Certificate verification"),
    "issuer": N_("Issued by"),
    "holder": N_("Name"),
    "course": N_("Course"),
    "dates": N_("Dates"),
    "number": N_("Certificate number"),
    "issued_on": N_("Issued on"),
    "valid_until": N_("Valid until"),
    "no_end": N_("no end date"),
    "state": N_("State"),
    "valid": N_("Valid: this certificate was issued as shown."),
    "expired": N_("Expired: this certificate was valid until the date shown."),
    "revoked": N_("Revoked by the issuer: this certificate is no longer valid."),
    "superseded": N_("Replaced by certificate {by}: this one is no longer valid."),
    "withdrawn": N_("Withdrawn: the holder's details have been removed."),
    "enter": N_("Enter the code printed on the certificate"),
    "check": N_("Check"),
    "not_found": N_("No certificate has this code. Check the code and try again."),
    "back": N_("Check another code"),
}
_MONTHS = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)

_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f6f4ee;color:#1d2a3a;margin:0}"
    "main{max-width:34rem;margin:3rem auto;background:#fff;padding:2rem;border-top:6px solid "
    "#b08d3c;box-shadow:0 1px 4px rgba(0,0,0,.1)}h1{font-size:1.3rem;margin-top:0}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem}dt{color:#5a6472}"
    "dd{margin:0;font-weight:600}.state{padding:.8rem;margin-top:1.2rem;border-radius:4px}"
    ".valid{background:#e3f3e6}.invalid{background:#fbe4e1}"
    "input{font:inherit;font-size:1.2rem;letter-spacing:.1em;padding:.4rem;width:12em}"
    "button{font:inherit;padding:.45rem 1rem;margin-left:.5rem}"
)
# normalises what people type (any case, spaces, I/L for 1, O for 0) to the page's folder
# (also for `?code=`, where the form goes when the script did not catch it, and for links)
_SCRIPT = (
    "function go(v){var c=v.toUpperCase().replace(/[\\s-]/g,'')"
    ".replace(/[IL]/g,'1').replace(/O/g,'0');"
    "if(c.length===12){c=c.slice(0,4)+'-'+c.slice(4,8)+'-'+c.slice(8)}"
    "window.location.href=encodeURIComponent(c)+'/';}"
    "document.getElementById('f').addEventListener('submit',function(e){e.preventDefault();"
    "go(document.getElementById('c').value);});"
    "var q=new URLSearchParams(window.location.search).get('code');if(q){go(q);}"
)

# a static page outlives the day it was published: once the visitor's date is past the last
# valid day, a valid certificate's page says it expired, as publishing again would
_EXPIRY_SCRIPT = (
    "(function(){var s=document.getElementById('s'),d=new Date(),t=d.getFullYear()+'-'"
    "+('0'+(d.getMonth()+1)).slice(-2)+'-'+('0'+d.getDate()).slice(-2);"
    "if(t>s.dataset.until){s.className='state invalid';"
    "s.lastChild.textContent=' '+s.dataset.expired;}})();"
)


def language_of(language: str) -> str:
    """The site's language for a certificate's: Dutch or English."""
    return "nl" if language.lower().startswith("nl") else "en"


# certificates of one course share their dates: each date is spelled out once
@lru_cache(maxsize=4096)
def _date(text: str | None, language: str) -> str:
    if not text:
        return ""
    year, month, day = (int(part) for part in text.split("-"))
    month_name = in_language(language, _MONTHS[month - 1])
    return f"{day} {month_name} {year}"


def _page(language: str, title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="robots" content="noindex, nofollow">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


@lru_cache
def _words(language: str) -> dict[str, str]:
    """The page's words in a language, read from its catalogue once."""
    return {key: in_language(language, text) for key, text in WORDS.items()}


# the words as HTML, escaped once rather than on each of 10,000 pages
@lru_cache
def _escaped(language: str) -> dict[str, str]:
    return {key: escape(text) for key, text in _words(language).items()}


def certificate_page(entry: Entry, issuer: str) -> str:
    """The page of one certificate, in its language."""
    language = language_of(entry.language)
    words = _escaped(language)
    state = entry.state
    withdrawn = state == CertificateState.WITHDRAWN
    dates = _date(entry.course_end, language)
    if entry.course_start and entry.course_start != entry.course_end:
        dates = f"{_date(entry.course_start, language)} – {dates}"
    rows = [
        (words["issuer"], escape(issuer)),
        (words["holder"], "" if withdrawn else escape(entry.full_name or "")),
        (words["course"], escape(entry.course_name)),
        (words["dates"], dates),
        (words["number"], entry.number),
        (words["issued_on"], _date(entry.issued_on, language)),
        (words["valid_until"], _date(entry.valid_until, language) or words["no_end"]),
    ]
    listed = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows if value)
    said = words[str(state)].format(by=entry.superseded_by or "")
    kind = "valid" if state == CertificateState.VALID else "invalid"
    expires = state == CertificateState.VALID and entry.valid_until
    switch = (
        f' id="s" data-until="{entry.valid_until}" data-expired="{words["expired"]}"'
        if expires
        else ""
    )
    body = (
        f"<h1>{words['title']}</h1><dl>{listed}</dl>"
        f'<p class="state {kind}"{switch}><strong>{words["state"]}:</strong> {said}</p>'
        f'<p><a href="../">{words["back"]}</a></p>'
        + (f"<script>{_EXPIRY_SCRIPT}</script>" if expires else "")
    )
    return _page(language, f"{_words(language)['title']} {shown(entry.code)}", body)


def index_page(language: str, issuer: str) -> str:
    """The form that takes a code to its page."""
    words = _words(language_of(language))
    heading = f"{words['title']}" + (f" · {escape(issuer)}" if issuer else "")
    body = (
        f'<h1>{heading}</h1><form id="f" method="get">'
        f'<label for="c">{escape(words["enter"])}</label><p>'
        '<input id="c" name="code" autocomplete="off" placeholder="XXXX-XXXX-XXXX" required>'
        f'<button type="submit">{escape(words["check"])}</button></p></form>'
        f"<script>{_SCRIPT}</script>"
    )
    return _page(language_of(language), words["title"], body)


def not_found_page(language: str) -> str:
    """What a web server shows for a code with no page."""
    words = _words(language_of(language))
    body = (
        f"<h1>{escape(words['title'])}</h1>"
        f'<p class="state invalid">{escape(words["not_found"])}</p>'
        f'<p><a href="/">{escape(words["back"])}</a></p>'
    )
    return _page(language_of(language), words["title"], body)


ROBOTS = "User-agent: *\nDisallow: /\n"


@dataclass
class Published:
    """What a publication did: pages written anew, and pages left as they were."""

    written: int = 0
    unchanged: int = 0


def manifest_of(out: Path) -> Path:
    """Each page's digest, so that publishing again reads no page: beside the site, never in
    it, as it names every code."""
    return out.parent / f".{out.name}.published.json"


class _Site:
    """The pages of a site folder as last published, to write only what changed."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.folders = {entry.name for entry in os.scandir(out) if entry.is_dir()}
        self.digests: dict[str, str] = {}
        self.inputs: dict[str, str] = {}  # what each certificate's page was made from
        try:
            kept = json.loads(manifest_of(out).read_text("utf-8"))
        except (OSError, ValueError):
            kept = {}  # no site yet, or one beside which the manifest was lost: pages compared
        # written again when a page or what it was made from changed, or in an earlier form
        self.changed = not (isinstance(kept, dict) and isinstance(kept.get("pages"), dict))
        if not self.changed:
            self.digests, self.inputs = kept["pages"], kept.get("inputs") or {}
        elif isinstance(kept, dict):
            self.digests = kept  # a site of an earlier version: its pages' digests alone
        self.published = Published()

    def certificate(self, entry: Entry, issuer: str) -> None:
        """A certificate's page, made and written only when what it is made from changed
        (or the page is gone)."""
        folder = shown(entry.code)
        relative = f"{folder}/index.html"
        key = _inputs_key(entry, issuer)
        if (
            self.inputs.get(relative) == key
            and folder in self.folders
            and os.path.exists(os.path.join(self.out, relative))
        ):
            self.published.unchanged += 1
            return
        self.write(folder, "index.html", certificate_page(entry, issuer))
        self.inputs[relative] = key
        self.changed = True

    def write(self, folder: str, name: str, text: str) -> None:
        """Write `text` unless the page holds exactly that; a temporary file, then a rename."""
        data = text.encode("utf-8")
        relative = f"{folder}/{name}" if folder else name
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        directory = os.path.join(self.out, folder) if folder else str(self.out)
        path = os.path.join(directory, name)
        if folder and folder not in self.folders:
            os.mkdir(directory)
            self.folders.add(folder)
        elif (self.digests.get(relative) == digest and os.path.exists(path)) or _holds(path, data):
            self.digests[relative] = digest
            self.published.unchanged += 1
            return
        _replace_whole(path, data, 0o644, dir=directory, prefix=".tmp-", suffix=".html")
        self.digests[relative] = digest
        self.published.written += 1
        self.changed = True

    def close(self) -> None:
        """Keep the digests for the next publication (whole or not at all); a publication
        that changed nothing leaves them as they were."""
        manifest = manifest_of(self.out)
        if not self.changed and manifest.exists():
            return
        descriptor, temporary = tempfile.mkstemp(dir=manifest.parent, prefix=manifest.name)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            kept = {"pages": self.digests, "inputs": self.inputs}
            json.dump(kept, handle, separators=(",", ":"))
        os.chmod(temporary, 0o600)
        os.replace(temporary, manifest)


# made anew when the pages' code changes, so that a site is written again with it
PAGE_FORMAT = "2"  # 2: a valid page turns expired after its last valid day


@lru_cache
def _made_with(language: str, issuer: str) -> str:
    """Everything but the certificate a page depends on: certify's version, the page's
    format and style, its words and month names in the language, the issuer."""
    from certify import __version__

    months = [in_language(language, month) for month in _MONTHS]
    parts = [__version__, PAGE_FORMAT, _STYLE, issuer, *_words(language).values(), *months]
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16).hexdigest()


def _inputs_key(entry: Entry, issuer: str) -> str:
    """A digest of what a certificate's page is made from: publishing again with the same
    inputs neither renders nor reads the page."""
    language = language_of(entry.language)
    fields = (
        _made_with(language, issuer), str(entry.state), entry.full_name or "",
        entry.course_name, entry.course_start or "", entry.course_end or "", entry.number,
        entry.issued_on or "", entry.valid_until or "", entry.superseded_by or "", entry.code,
    )  # fmt: skip
    return hashlib.blake2b("\x1f".join(fields).encode("utf-8"), digest_size=16).hexdigest()


def _holds(path: str, data: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read() == data
    except FileNotFoundError:
        return False


def publish(entries: Iterable[Entry], out: Path, *, issuer: str, language: str) -> Published:
    """Write the site to `out`: a page per certificate, the form, 404.html and robots.txt."""
    out.mkdir(parents=True, exist_ok=True)
    site = _Site(out)
    site.write("", "index.html", index_page(language, issuer))
    site.write("", "404.html", not_found_page(language))
    site.write("", "robots.txt", ROBOTS)
    for entry in entries:
        site.certificate(entry, issuer)
    site.close()
    return site.published


def write_bytes(path: Path, data: bytes) -> None:
    """A file a person asked for, whole or not at all, readable by its owner only."""
    from certify.outfile import check_target

    check_target(path)
    _replace_whole(
        str(path), data, 0o600, dir=path.resolve().parent, prefix=f".{path.name}.", suffix=".tmp"
    )


def _replace_whole(
    path: str, data: bytes, mode: int, *, dir: str | Path, prefix: str, suffix: str
) -> None:
    """Write `data` to a temporary file beside `path`, then rename: whole or not at all."""
    descriptor, temporary = tempfile.mkstemp(dir=dir, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
