"""Where rendered names are made: Terraform block labels, provider aliases, file and folder names.

A Terraform label is an address: when it changes, Terraform destroys the object and creates it
again. So a label depends on nothing but the name it is made from, never on which other items
exist: a name that is already a lower-case DNS-like word (``aks-prod-eus``) becomes the same word
with underscores; any other name is cleaned and gets ``__`` and a hash of the exact name, a form
the first kind can never produce (it has no double underscore).

File and folder names follow the same rule with ``-``: a plain name stays as it is, anything else
(``..``, slashes, spaces, upper case that would collide on a case-insensitive disk) is cleaned and
hashed, so a hostile name can neither leave the output folder nor overwrite a sibling.
"""

from __future__ import annotations

import hashlib
import re

_PLAIN_LABEL = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_PLAIN_SEGMENT = re.compile(r"[a-z0-9][a-z0-9]*(?:[-.][a-z0-9]+)*")
_NOT_LABEL = re.compile(r"[^a-z0-9]+")
_NOT_SEGMENT = re.compile(r"[^a-z0-9.]+")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_LABEL = 64
MAX_SEGMENT = 80


def digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:8]


def tf_label(*parts: str) -> str:
    """A Terraform block label for the name ``'-'.join(parts)``; stable, unique, valid."""
    text = "-".join(parts)
    if _PLAIN_LABEL.fullmatch(text) and len(text) <= MAX_LABEL:
        return text.replace("-", "_")
    clean = _NOT_LABEL.sub("_", text.lower()).strip("_")
    if not clean or not clean[0].isalpha():
        clean = f"x_{clean}".rstrip("_")
    clean = re.sub(r"_+", "_", clean)[: MAX_LABEL - 10].rstrip("_")
    return f"{clean}__{digest(text)}"


def provider_alias(subscription_id: str) -> str:
    """The ``azurerm`` provider alias of one subscription: ``sub_<guid with underscores>``."""
    if _GUID.fullmatch(subscription_id):
        return "sub_" + subscription_id.lower().replace("-", "_")
    return "sub__" + digest(subscription_id)


def path_segment(name: str) -> str:
    """One file or folder name for ``name``: plain names unchanged, anything else cleaned and hashed."""
    if _PLAIN_SEGMENT.fullmatch(name) and len(name) <= MAX_SEGMENT:
        return name
    clean = _NOT_SEGMENT.sub("-", name.lower()).strip("-.")
    clean = re.sub(r"\.{2,}", ".", clean)[: MAX_SEGMENT - 10].strip("-.")
    return f"{clean or 'x'}--{digest(name)}"
