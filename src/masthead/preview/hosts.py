"""Which Host and Origin headers the preview answers: its defence against DNS rebinding.

A page on another site can rebind its own name to 127.0.0.1; the browser then lets it
read the preview as its own origin, but every request still names the attacker's host.
So the preview answers only to names the attacker cannot control: `localhost`, the
address it is bound to, the `--host` value, and, when bound to every interface (0.0.0.0
or ::), any IP address, since an address has no DNS name to rebind. The port is not
checked: the name is what rebinding controls, and a tunnel or a container may forward
another port.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?")


def normal_name(name: str) -> str | None:
    """A host name as compared: lower case, no trailing dot, IP addresses in one spelling."""
    name = name.lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    elif name.endswith("."):
        name = name[:-1]
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name if name and ":" not in name else None
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def host_name(value: str) -> str | None:
    """The name in a Host header value (`name`, `name:port`, `[v6]:port`), or None."""
    match = _HOST.fullmatch(value.strip())
    if match is None or (match[2] is not None and int(match[2]) > 65535):
        return None
    return normal_name(match[1])


class HostCheck:
    """The names one preview answers to; see the module docstring for why these."""

    def __init__(self, bound: str, option: str, extra: Iterable[str] = ()) -> None:
        names = {"localhost", bound, option, *extra}
        self.names = frozenset(n for n in map(normal_name, names) if n)
        try:
            self.any_address = ipaddress.ip_address(bound).is_unspecified
        except ValueError:
            self.any_address = False

    def allows_host(self, value: str | None) -> bool:
        name = host_name(value) if value else None
        if name is None:
            return False
        return name in self.names or (self.any_address and _is_address(name))

    def allows_origin(self, value: str) -> bool:
        """An Origin header (sent by browsers on cross-origin requests) names this preview."""
        try:
            parts = urlsplit(value.strip())
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or parts.path or parts.query:
            return False
        return self.allows_host(parts.netloc)

    def describe(self) -> str:
        shown = sorted(self.names, key=lambda n: (n != "localhost", n))
        if self.any_address:
            shown.append("any IP address")
        return ", ".join(shown)


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True
