"""Pagefind's indexing service (`pagefind --service`), spoken to directly.

Pagefind's Python package drives the same service through asyncio, but its reader
sleeps 0.1 s before each answer it reads: thousands of pages would take minutes. This
adapter speaks the service's protocol itself (each message is base64 of a JSON object,
ended by a comma; answers carry the `message_id` they answer, in any order), writing
from one thread while it reads in another, so neither pipe fills up. The protocol is
Pagefind's own between its binary and its wrappers, not a public API: it is pinned to
the 1.x versions it was written against (PINNED), and `Service` refuses another.

So is what a custom record's content may hold. Pagefind's HTML parser turns a page into
text with its headings marked by weight, and a custom record's content is that text:
`heading()` and `sentence()` make the text the parser makes of a heading and a block
of plain text, so that a record indexes exactly as the page it stands for (a test
compares the two bundles byte for byte), without parsing HTML: a third less work for
Pagefind.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

PINNED = ("1.5.",)
"""Pagefind versions whose service protocol this module was written against."""


class ServiceError(Exception):
    """The service failed, answered with an error, or could not be started."""


Record = dict[str, Any]
"""A custom record: its `content`, and its `meta` and `filters` as Pagefind stores them."""
Document = tuple[str, str | Record]
"""(url, HTML of a page or a custom record) of one document as Pagefind is given it."""

_SENTENCE_END = re.compile(r"[\w'\")$*]\Z")
"""The last characters after which the parser ends a block with a full stop."""


def sentence(text: str) -> str:
    """`text` as the parser ends a block of it (a paragraph, a heading) written as HTML:
    with a full stop after a word or a closing quote, unless escaping it for HTML made
    it end otherwise (the parser looks at the text before decoding it)."""
    return f"{text}." if _SENTENCE_END.search(html.escape(text)) else text


def heading(text: str) -> str:
    """The content the parser makes of an <h1> holding `text`: weighted as a title."""
    return f"___PAGEFIND_AUTO_WEIGHT___7 {sentence(text)} ___END_PAGEFIND_WEIGHT___"


class Service:
    """One `pagefind --service` process; `index()` makes any number of indexes with it."""

    def __init__(self, binary: Path, preexec: Callable[[], Any] | None = None) -> None:
        # A file: it never fills up like a pipe. Closed by close().
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                [str(binary), "--service"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                preexec_fn=preexec,
            )
        except OSError as exc:
            self._stderr.close()
            raise ServiceError(f"Pagefind could not run: {exc}") from exc
        self._next = 0

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        process = self._process
        if process.poll() is None:
            process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # unflushed bytes to a dead process
                    pipe.close()
        self._stderr.close()

    def _failure(self, read: bytes) -> str:
        """Why the service ended: its exit status and the last words it wrote."""
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "Pagefind's service stopped answering"
        self._stderr.seek(0)
        said = (self._stderr.read()[-4000:] + b" " + read[-2000:]).decode("utf-8", "replace")
        tail = " ".join(said.split()[-40:])
        return (
            f"Pagefind failed (exit {code}): {tail}"
            if tail or code
            else (f"Pagefind ended without an answer (exit {code})")
        )

    def index(
        self, shards: Iterable[Iterable[Document]], language: str
    ) -> Iterator[dict[str, bytes]]:
        """For each shard, the bundle Pagefind makes of its documents ({path: bytes}),
        in the order given. All shards are sent before the first bundle is asked for,
        so the service works on them together."""
        shards = [list(docs) for docs in shards]
        config = {"force_language": language}
        ids = self._ask([{"type": "NewIndex", "config": config} for _ in shards])
        index_ids = [answer["index_id"] for answer in ids]
        adds = [
            {"type": "AddFile", "index_id": index_id, "url": url, "file_contents": document}
            if isinstance(document, str)
            else {
                "type": "AddRecord",
                "index_id": index_id,
                "url": url,
                "language": language,
                **document,
            }
            for index_id, docs in zip(index_ids, shards, strict=True)
            for url, document in docs
        ]
        self._ask(adds)
        for index_id in index_ids:
            (answer,) = self._ask([{"type": "GetFiles", "index_id": index_id}])
            yield {f["path"]: base64.b64decode(f["content"]) for f in answer["files"]}

    def _ask(self, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send every payload, then return the answers in the order asked."""
        first = self._next + 1
        self._next += len(payloads)
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        failed: list[BaseException] = []
        writer = threading.Thread(
            target=_send, args=(stdin, payloads, first, failed), name="pagefind-send"
        )
        writer.start()
        answers: dict[int, dict[str, Any]] = {}
        try:
            while len(answers) < len(payloads):
                raw = _read_message(stdout)
                try:
                    message = json.loads(base64.b64decode(raw, validate=True))
                    payload = message["payload"]
                    number = message["message_id"]
                except (ValueError, KeyError, TypeError):
                    raise ServiceError(self._failure(raw)) from None
                if payload.get("type") == "Error":
                    raise ServiceError(f"Pagefind: {payload.get('message', 'unknown error')}")
                answers[number] = payload
        except EOFError as exc:
            raise ServiceError(self._failure(exc.args[0] if exc.args else b"")) from None
        finally:
            if len(answers) < len(payloads):
                self.close()  # unblocks the writer thread
            writer.join()
        if failed:
            raise ServiceError(f"Pagefind's service stopped reading: {failed[0]}")
        return [answers[first + i] for i in range(len(payloads))]


def _send(stdin: IO[bytes], payloads: list[dict[str, Any]], first: int, failed: list) -> None:
    try:
        for number, payload in enumerate(payloads, first):
            message = json.dumps({"message_id": number, "payload": payload}).encode()
            stdin.write(base64.b64encode(message) + b",")
        stdin.flush()
    except (OSError, ValueError) as exc:  # ValueError: the pipe was closed under us
        failed.append(exc)


def _read_message(stdout: IO[bytes]) -> bytes:
    """One message, without its comma; EOFError (with what was read) when the service ended."""
    parts: list[bytes] = []
    while True:
        chunk = stdout.peek(1 << 16)  # type: ignore[attr-defined]
        if not chunk:
            raise EOFError(b"".join(parts))
        end = chunk.find(b",")
        if end >= 0:
            parts.append(stdout.read(end + 1)[:-1])
            return b"".join(parts)
        parts.append(stdout.read(len(chunk)))


def _version(bundle: dict[str, bytes]) -> str:
    try:
        return str(json.loads(bundle["pagefind-entry.json"])["version"])
    except (KeyError, ValueError) as exc:
        raise ServiceError("Pagefind wrote no pagefind-entry.json") from exc


def check_version(bundle: dict[str, bytes]) -> None:
    """ServiceError unless the bundle was made by a Pagefind version this module knows."""
    version = _version(bundle)
    if not version.startswith(PINNED):
        raise ServiceError(
            f"Pagefind {version} is not a version masthead was tested with "
            f"({', '.join(p + 'x' for p in PINNED)}); install pagefind[bin]=={PINNED[0]}*"
        )
