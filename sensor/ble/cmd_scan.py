"""`backcheck scan [--timeout S]`: nearby BLE devices, their signal, and the profile each matches."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from bleak import BleakScanner
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakBluetoothNotAvailableError, BleakError

from sensor.ble.profiles import match_profile
from sensor.ble.source import NO_BLUETOOTH
from sensor.errors import DeviceError, InputError

SCANNER_BACKEND: type[BaseBleakScanner] | None = None  # None: the platform's; tests put a fake here


@dataclass(frozen=True)
class Seen:
    address: str
    name: str | None
    rssi_dbm: int
    profile: str | None  # PROFILES key, or None when no profile matches

    @property
    def source(self) -> str:
        return f"ble:{self.profile}@{self.name or self.address}" if self.profile else ""


async def scan(timeout_s: float, backend: type[BaseBleakScanner] | None = None) -> list[Seen]:
    """Scan for `timeout_s` seconds; devices with a matching profile first, then by signal."""
    try:
        found = await BleakScanner.discover(timeout_s, return_adv=True, backend=backend)
    except (BleakBluetoothNotAvailableError, OSError) as err:
        raise DeviceError(f"{NO_BLUETOOTH} ({err})") from None
    except BleakError as err:
        raise DeviceError(f"the Bluetooth scan failed ({err}); try again, or restart Bluetooth") from None
    seen = []
    for device, adv in found.values():
        name = adv.local_name or device.name
        profile = match_profile(name, adv.service_uuids)
        seen.append(Seen(device.address, name, adv.rssi, profile.key if profile else None))
    return sorted(seen, key=lambda s: (s.profile is None, -s.rssi_dbm))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=5.0, metavar="S", help="seconds to scan (default 5)")


def run(args: argparse.Namespace) -> int:
    if not args.timeout > 0:
        raise InputError(f"--timeout {args.timeout}: expected a positive number of seconds")
    seen = asyncio.run(scan(args.timeout, SCANNER_BACKEND))
    if not seen:
        print(
            f"No Bluetooth LE devices found in {args.timeout:g} s. Is the tag on and not connected elsewhere?"
        )
        return 0
    print(f"{'address':<20} {'rssi':>5}  {'name':<24} {'profile':<13} --source")
    for s in seen:
        print(
            f"{s.address:<20} {s.rssi_dbm:>5}  {(s.name or '?')[:24]:<24} {s.profile or '-':<13} {s.source}"
        )
    return 0
