"""Who a limit counts: keys for Flask-Limiter that stop an attacker without stopping the people
a limit protects (issue 18.6; docs/security.md "Limits").

- ``address_key``: the caller's address, an IPv6 address by its /64 (one household or phone
  holds a whole /64: counting single addresses would let one attacker rotate through
  billions), an IPv4-mapped IPv6 address as IPv4.
- The login limits in ``accounts.devices``: a browser where the account signed in before
  ("a known device") is counted on its own, so a flood of wrong passwords against an account
  slows the attacker and new devices, never the owner's own browser.
"""

from __future__ import annotations

import ipaddress

from flask import request


def address_key() -> str:
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
