"""Role and scope names, and the least-privilege roles, shared by the settings
(realtime/config.py, realtime/auth_config.py) and the token verifier (realtime/auth.py).

Pydantic-free on purpose: the authorizers import it (docs/architecture.md, "Cold start")."""

from __future__ import annotations

import re

# Role names (in tokens and in the configuration): no separators or spaces, so a role can
# never be read as two, whatever encoding it crosses.
ROLE_NAME_PATTERN = r"^[A-Za-z0-9._:/@+-]{1,64}$"
_ROLE_NAME = re.compile(ROLE_NAME_PATTERN)

# The least-privilege roles of services (domain/access.py): what the OAuth scopes of a
# client-credentials token and the IAM routes grant by default.
READER_ROLE = "reader"
PUBLISHER_ROLE = "publisher"
DEFAULT_SCOPE_ROLES: dict[str, list[str]] = {"realtime/read": [READER_ROLE], "realtime/publish": [PUBLISHER_ROLE]}
# RFC 6749's scope-token: printable ASCII except space, '"' and '\\'.
SCOPE_PATTERN = r"^[\x21\x23-\x5b\x5d-\x7e]{1,256}$"


def valid_role_name(name: object) -> bool:
    return isinstance(name, str) and _ROLE_NAME.fullmatch(name) is not None
