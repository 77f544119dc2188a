"""Where Salesforce secrets may be sent: HTTPS only, and an ``instance_url`` inside Salesforce's domains.

The token endpoint receives the consumer secret, a refresh token or a signed assertion; the
``instance_url`` of its answer receives the access token on every API call. Both must be HTTPS
(TLS proves the host name), and the ``instance_url`` must be a Salesforce host: the token response
is the only place it comes from, and its ``signature`` does not cover it (see docs/security.md).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

__all__ = [
    "SALESFORCE_DOMAINS",
    "UnsafeEndpointError",
    "check_instance_url",
    "parse_domains",
    "require_https",
]

#: Domains Salesforce serves orgs' API hosts from (Salesforce Help, "Allow the Required Domains" and
#: "My Domain URL Formats"): commercial and Hyperforce orgs (``*.my.salesforce.com``, legacy
#: ``*.salesforce.com`` / ``*.force.com`` / ``*.cloudforce.com`` / ``*.database.com`` instances),
#: Government Cloud Plus Defense (``*.my.salesforce.mil``, ``*.force.mil``, ``*.crmforce.mil``) and
#: Salesforce on Alibaba Cloud (``*.my.sfcrmproducts.cn``, ``*.sfcrmapps.cn``).
SALESFORCE_DOMAINS: tuple[str, ...] = (
    "salesforce.com",
    "force.com",
    "cloudforce.com",
    "database.com",
    "salesforce.mil",
    "force.mil",
    "crmforce.mil",
    "sfcrmproducts.cn",
    "sfcrmapps.cn",
)


class UnsafeEndpointError(ValueError):
    """An endpoint a secret would be sent to is not HTTPS, or not a host we may trust with it."""


def require_https(url: str, what: str) -> str:
    """Return ``url`` when it is an ``https://`` URL with a host; raise :class:`UnsafeEndpointError` if not.

    :param what: names the endpoint in the error (``"Login URL"``, ``"instance_url"`` ...).
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        shown = f"{parts.scheme}://{parts.hostname}" if parts.scheme else repr(url[:60])
        raise UnsafeEndpointError(
            f"{what} must be an https:// URL (got {shown}): secrets are never sent over plain HTTP."
        )
    if parts.username is not None or parts.password is not None:
        raise UnsafeEndpointError(f"{what} must not carry a user name or password in the URL.")
    return url


def parse_domains(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """The ``instance_domains`` extra as a tuple of lower-case host names or domains.

    Accepts a JSON list, or a string separated by commas or white space.
    """
    if not value:
        return ()
    items: Iterable[object]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                loaded = json.loads(text)
            except ValueError as err:
                raise UnsafeEndpointError(f"instance_domains is not a valid JSON list: {err}") from None
            items = loaded if isinstance(loaded, list) else [loaded]
        else:
            items = text.replace(",", " ").split()
    else:
        items = value
    domains = []
    for item in items:
        domain = str(item).strip().lower().lstrip("*").lstrip(".").rstrip(".")
        if not domain or (("/" in domain or ":" in domain) and not _is_ip(domain)):
            raise UnsafeEndpointError(
                f"instance_domains entry {str(item)[:60]!r} is not a host name or domain "
                "(write acme.example.com, not a URL)."
            )
        domains.append(domain)
    return tuple(domains)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _matches(host: str, domain: str) -> bool:
    if host == domain:
        return True
    return not _is_ip(domain) and host.endswith("." + domain)  # an IP address allows itself only


def check_instance_url(url: str, extra_domains: Iterable[str] = ()) -> str:
    """Return ``url`` when it is HTTPS on Salesforce's domains or ``extra_domains``; raise otherwise.

    :raises UnsafeEndpointError: the token response named another host (the access token would
        go there with every API call).
    """
    require_https(url, "The token response's instance_url")
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    allowed = (*SALESFORCE_DOMAINS, *extra_domains)
    if not any(_matches(host, domain) for domain in allowed):
        raise UnsafeEndpointError(
            f"The token response's instance_url host {host!r} is not a Salesforce domain: the access "
            "token was not used. If this org really is served from a private domain, add it to the "
            "connection's instance_domains extra."
        )
    return url
