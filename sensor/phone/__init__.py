"""Phones as sensors: Sensor Logger's HTTP push and phyphox remote access, as live sources.

``--source`` syntax:

    sensorlogger                  push server on every LAN interface, port 8000
    sensorlogger:PORT             ... on another port (0 = any free port)
    sensorlogger:HOST:PORT        ... bound to one address only, e.g. sensorlogger:192.168.1.20:8000
    phyphox:HOST[:PORT]           poll the phone phyphox shows, e.g. phyphox:192.168.1.31 (port 8080)
    phyphox:http://HOST:PORT      the address exactly as phyphox prints it

Every source is an async iterator of `analysis.samples.Samples` blocks (t in s from the first
sample, acceleration in m/s² with gravity, angular rate in rad/s) with `info` (a RecordingMeta:
device, achieved rate, decisions), `stats` (drops, duplicates, out-of-order, gaps, reconnects)
and `events` (what happened, in words).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sensor.errors import InputError

SYNTAX = "sensorlogger[:PORT], sensorlogger:HOST:PORT or phyphox:HOST[:PORT]"


async def open_phone_source(spec: str, **options: Any) -> Any:
    """Open and start the phone source named by `spec` (module docstring).

    options: any field of `SensorLoggerSettings` / `PhyphoxSettings` (e.g. token, platform,
    poll_hz), `ios=True` or `android=True` for Sensor Logger's sign convention, and the
    constructor's keywords (announce, clock, wall_clock).
    """
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "sensorlogger":
        from sensor.phone.sensorlogger_push import SensorLoggerSettings, SensorLoggerSource

        host, port = _host_port(spec, rest, default_host="0.0.0.0", default_port=8000, host_needed=False)
        if options.pop("ios", False):
            options["platform"] = "ios"
        if options.pop("android", False):
            options["platform"] = "android"
        fields, extra = _split(options, SensorLoggerSettings)
        source = SensorLoggerSource(SensorLoggerSettings(host=host, port=port, **fields), **extra)
    elif kind == "phyphox":
        from sensor.phone.phyphox_poll import PhyphoxSettings, PhyphoxSource

        rest = rest.strip().removeprefix("http://")
        host, port = _host_port(spec, rest.rstrip("/"), default_host="", default_port=8080, host_needed=True)
        fields, extra = _split(options, PhyphoxSettings)
        source = PhyphoxSource(PhyphoxSettings(host=host, port=port, **fields), **extra)
    else:
        raise InputError(f"--source {spec!r}: not a phone source; expected {SYNTAX}")
    await source.start()
    return source


def _split(options: dict[str, Any], settings_type: type) -> tuple[dict[str, Any], dict[str, Any]]:
    names = {f.name for f in dataclasses.fields(settings_type)}
    fields = {k: v for k, v in options.items() if k in names}
    return fields, {k: v for k, v in options.items() if k not in names}


def _host_port(
    spec: str, rest: str, default_host: str, default_port: int, host_needed: bool
) -> tuple[str, int]:
    parts = rest.split(":") if rest else []
    if host_needed and (not parts or not parts[0]):
        raise InputError(f"--source {spec!r}: expected phyphox:HOST[:PORT], e.g. phyphox:192.168.1.31")
    if len(parts) > 2:
        raise InputError(f"--source {spec!r}: expected {SYNTAX}")
    if len(parts) == 1 and not host_needed:
        parts = [default_host, parts[0]]
    host = parts[0] if parts else default_host
    port_text = parts[1] if len(parts) > 1 else str(default_port)
    if not port_text.isdigit() or int(port_text) > 65535:
        raise InputError(f"--source {spec!r}: the port must be a number from 0 to 65535, got {port_text!r}")
    return host, int(port_text)
