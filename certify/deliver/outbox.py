"""The `dir` transport: each message an `.eml` file in a folder, one file per delivery.

A file is written whole (temporary file, fsync, link) and never replaces another: two
deliveries never share a name, and recovery after a killed run looks for the exact file
of each delivery.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import TYPE_CHECKING

from certify.deliver.transports import TemporaryFailure
from certify.errors import TransportConfigError, os_reason
from certify.locale import _
from certify.outfile import make_private_folder

if TYPE_CHECKING:  # the message module loads when the first message is made
    from certify.render.message import Mail

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# A name kept as it is: no separator doubled or at an edge, so "--" only joins the parts.
_PLAIN = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")
_PLAIN_LENGTH = 200
_HEADER_BYTES = 64 * 1024  # a message's header block fits, whatever its attachments weigh


def safe_file_name(action: str, course: str, person: str) -> str:
    """The one file name of a delivery in the outbox, different for every delivery.

    Ids that read the same on a case-insensitive file system once cleaned up (`a/b`,
    `a_b`; `P1`, `p1`; long or non-ASCII ids) get a digest of the exact key, so two
    deliveries never share a file; plain ids (a lower-case action, upper-case course and
    person ids) keep the readable `action--course--person.eml`.
    """
    plain = (
        all(_PLAIN.fullmatch(part) for part in (action, course, person))
        and action == action.lower()
        and course == course.upper()
        and person == person.upper()
    )
    name = f"{action}--{course}--{person}"
    if plain and len(name) <= _PLAIN_LENGTH:
        return name + ".eml"
    digest = hashlib.sha256("\0".join((action, course, person)).encode("utf-8")).hexdigest()
    readable = "--".join(
        _UNSAFE.sub("_", part)[:40].strip("._-") or "_" for part in (action, course, person)
    )
    return f"{readable}--{digest[:16]}.eml"


class DirTransport:
    """Each message an RFC 5322 file: written to a temporary file, fsynced, then renamed.

    Whether a message was handed over is whether its file exists, so no `sending` mark is
    needed: a claim found after a crash is sent if its file is there, pending if not. The
    folder itself is fsynced once per batch (`make_durable`), before the results are recorded.
    """

    name = "dir"

    def __init__(self, out: Path) -> None:
        self.out = out
        self._written_since_sync = False

    def open(self) -> None:
        try:
            make_private_folder(self.out)
        except OSError as exc:
            raise TransportConfigError(
                _("cannot create the outbox {folder}: {reason}").format(
                    folder=self.out, reason=os_reason(exc)
                ),
                hint=_("choose a writable folder with --out"),
            ) from None
        if not os.access(self.out, os.W_OK):
            raise TransportConfigError(
                _("the outbox {folder} is not writable").format(folder=self.out),
                hint=_("check --out"),
            )

    def send(self, mail: Mail, file_name: str, before_handover: Callable[[], None]) -> None:
        data = mail.data
        target = self.out / file_name
        descriptor, temporary = tempfile.mkstemp(dir=self.out, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            target = _place(Path(temporary), target)
        except OSError as exc:
            raise TemporaryFailure(
                _("cannot write {file}: {reason}").format(file=target, reason=os_reason(exc))
            ) from None
        finally:
            Path(temporary).unlink(missing_ok=True)
        self._written_since_sync = True

    def make_durable(self) -> None:
        if self._written_since_sync:
            directory = os.open(self.out, os.O_RDONLY)
            try:
                os.fsync(directory)  # the renames of this batch are on disk
            finally:
                os.close(directory)
            self._written_since_sync = False

    def was_delivered(self, file_name: str, message_id: str | None) -> bool | None:
        """Whether the delivery's own file is there: the one with its Message-ID, as a forced
        resend (a new Message-ID) is written beside the first file, which proves nothing of it."""
        target = self.out / file_name
        if message_id is None:
            return target.exists()
        stem = glob.escape(target.name.removesuffix(".eml"))
        written = [target, *self.out.glob(f"{stem}~*.eml")]
        return any(_message_id_of(path) == message_id for path in written if path.exists())

    def close(self) -> None:
        pass


def _message_id_of(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(_HEADER_BYTES)
    found = BytesHeaderParser(policy=policy.default).parsebytes(head).get("Message-ID")
    return str(found).strip() if found else None


def _place(temporary: Path, target: Path) -> Path:
    """Give the written file its name without ever replacing a file already there.

    A link fails when the name is taken, where a rename would overwrite: a forced resend
    of a delivery whose file is still there gets `name~2.eml`, `name~3.eml`, ...
    """
    stem, suffix = target.name.removesuffix(".eml"), ".eml"
    candidate = target
    for number in range(2, 1000):
        try:
            os.link(temporary, candidate)
            return candidate
        except FileExistsError:
            candidate = target.with_name(f"{stem}~{number}{suffix}")
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
                raise
            # a file system without hard links: check, then rename (one writer per outbox)
            if candidate.exists():
                candidate = target.with_name(f"{stem}~{number}{suffix}")
                continue
            os.rename(temporary, candidate)
            return candidate
    raise FileExistsError(errno.EEXIST, "too many files of this delivery", str(target))
