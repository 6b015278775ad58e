"""Who is logged in: hashed passwords, the signed login cookie, and the authorisation hook.

- **Passwords** are argon2id hashes in the logins file (``apps.logins``, default
  ``workbench/conf/logins.yaml``; ``WB_LOGINS`` overrides), never passwords:
  ``wb apps passwd USER`` writes one. A login name is a workbench user (``wb users``).
- **The login cookie** is Tornado's signed ``user`` cookie, the one Panel's own
  basic auth sets, signed with the secret from :func:`cookie_secret`. Voila reads
  the same cookie with the same secret (:mod:`workbench.apps.voila`), so one login
  serves both servers; it expires after ``apps.session_timeout_min``.
- **OAuth / OIDC** (``panel serve --oauth-provider ...``, Panel's documented way)
  logs people in by their identity provider's name (an e-mail); ``oauth:`` in the
  logins file maps each to a workbench user. Unmapped identities open nothing.
- **Authorisation**: :func:`authorize` is Panel's ``authorize_callback``: the
  user's role must be listed for the page in ``apps.pages``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from workbench.apps.settings import AppSettings, app_settings

_HASHER = PasswordHasher()
# verified against when the user is unknown, so that a wrong name takes as long as a wrong password
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(8))


@dataclass(frozen=True)
class Logins:
    """The logins file: ``passwords`` (user -> argon2 hash) and ``oauth`` (identity -> user)."""

    path: Path
    passwords: Mapping[str, str] = field(default_factory=dict)
    oauth: Mapping[str, str] = field(default_factory=dict)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` for the logins file."""
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    return _HASHER.hash(password)


def load_logins(path: Path) -> Logins:
    if not path.exists():
        raise FileNotFoundError(f"no logins file at {path}: create it with `wb apps passwd USER` "
                                "(or point WB_LOGINS / apps.logins at one)")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unknown = sorted(set(raw) - {"passwords", "oauth"})
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {unknown}; the sections are passwords, oauth")
    passwords = {str(k): str(v) for k, v in (raw.get("passwords") or {}).items()}
    bad = [user for user, h in passwords.items() if not h.startswith("$argon2")]
    if bad:
        raise ValueError(f"{path}: passwords of {bad} are not argon2 hashes; set them with `wb apps passwd USER`")
    return Logins(path, passwords, {str(k): str(v) for k, v in (raw.get("oauth") or {}).items()})


def check_password(logins: Logins, user: str, password: str) -> bool:
    """Whether ``password`` is ``user``'s; unknown users and wrong passwords cost the same time."""
    stored = logins.passwords.get(user)
    try:
        _HASHER.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


def set_password(path: Path, user: str, password: str) -> None:
    """Write ``user``'s hash into the logins file; its other lines, comments included, stay as they are."""
    hashed = hash_password(password)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    edited = _with_line(text, user, f"  {user}: '{hashed}'")
    if (yaml.safe_load(edited) or {}).get("passwords", {}).get(user) != hashed:  # a layout we do not know
        raw = yaml.safe_load(text) or {}
        raw.setdefault("passwords", {})[user] = hashed
        edited = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(edited, encoding="utf-8")
    os.replace(tmp, path)


def _with_line(text: str, user: str, line: str) -> str:
    """``text`` with ``user``'s line of the ``passwords:`` block replaced, or added at the block's end."""
    lines = text.splitlines()
    if "passwords:" not in lines:
        return text.rstrip("\n") + ("\n" if text.strip() else "") + f"passwords:\n{line}\n"
    start = lines.index("passwords:") + 1
    end = next((i for i in range(start, len(lines)) if lines[i] and not lines[i][0].isspace()
                and not lines[i].startswith("#")), len(lines))
    mine = [i for i in range(start, end) if lines[i].strip().startswith(f"{user}:")]
    if mine:
        lines[mine[0]] = line
    else:
        last = max((i for i in range(start, end) if lines[i].strip() and not lines[i].lstrip().startswith("#")),
                   default=start - 1)
        lines.insert(last + 1, line)
    return "\n".join(lines) + "\n"


def cookie_secret(apps: AppSettings | None = None) -> str:
    """The secret that signs the login cookie: ``WB_APPS_COOKIE_SECRET``, else the secret file (made once)."""
    env = os.environ.get("WB_APPS_COOKIE_SECRET")
    if env:
        return env
    path = (apps or app_settings()).cookie_secret_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        os.replace(path.with_suffix(".tmp"), path)
    return path.read_text().strip()


def user_from_cookie(value: str | bytes | None, secret: str, timeout_min: float) -> str | None:
    """The login name in a signed ``user`` cookie, or None if absent, forged or older than ``timeout_min``."""
    from tornado.web import decode_signed_value

    if not value:
        return None
    decoded = decode_signed_value(secret, "user", value, max_age_days=timeout_min / 1440)
    return decoded.decode("utf-8") if decoded else None


def workbench_user(login: str | None, logins: Logins) -> str | None:
    """The workbench user a login name stands for: a user with a password, or a mapped OAuth identity."""
    if not login:
        return None
    if login in logins.passwords:
        return login
    return logins.oauth.get(login)


def page_of(path: str) -> str:
    """The app a request path opens: ``/operations``, ``/operations/ws``, ``/`` (home)."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    return parts[0] if parts else "home"


def authorize(user_info: Mapping | None, request_path: str = "/") -> bool:
    """Panel's ``authorize_callback``: may this login open the page at ``request_path``?"""
    login = (user_info or {}).get("user") or (user_info or {}).get("email")
    apps = app_settings()
    user = workbench_user(login, load_logins(apps.logins_file))
    known = load_access_for_apps().users
    return user in known and apps.may_open(known[user].role, page_of(request_path))


def load_access_for_apps():
    """The users and roles of the access file the apps' settings name (Voila's checks use it too)."""
    from workbench.config import load_settings
    from workbench.governance.policies import load_access

    return load_access(load_settings().access_file)
