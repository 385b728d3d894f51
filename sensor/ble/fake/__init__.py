"""Scripted fake BLE peripherals behind bleak's own backend hook, on a virtual clock.

Tests (and other engineers' tests) drive the real `BleakScanner`/`BleakClient` code and the real
`BleSource` against peripherals that speak each profile byte for byte:

    air = FakeAir()
    tag = FakeDiyTag(air, "backcheck-0001", LinkScript(drop=frozenset({40}), disconnect_at_s=9.0))
    source = open_ble_source("diy", scanner_backend=air.scanner_backend, client_backend=FakeBleakClient)
    blocks = run_virtual(collect(source))      # no wall-clock waiting: time jumps to the next event
    truth = tag.truth()                        # the samples the tag encoded AND delivered

`run_virtual` runs a coroutine on an event loop whose clock is virtual: when every task waits,
time jumps to the next timer, so scripted timing (connection intervals, jitter, back-off, scan
timeouts) costs nothing and is exactly reproducible. A wait on nothing raises `VirtualDeadlock`.

`peripherals`: the devices (motion, encoders, link scripts, one class per profile);
`radio`: bleak's scanner and client backends, the virtual-time loop, `collect`.
"""

from sensor.ble.fake.peripherals import (
    FakeDiyTag,
    FakePeripheral,
    FakePolar,
    FakeThingy52,
    FakeWitMotion,
    LinkScript,
    Motion,
    Sent,
    encode_pmd_delta,
    hinge_motion,
    simulator_motion,
)
from sensor.ble.fake.radio import (
    FakeAir,
    FakeBleakClient,
    FakeBleakScanner,
    VirtualDeadlock,
    VirtualTimeLoop,
    collect,
    run_virtual,
)

__all__ = [
    "FakeAir",
    "FakeBleakClient",
    "FakeBleakScanner",
    "FakeDiyTag",
    "FakePeripheral",
    "FakePolar",
    "FakeThingy52",
    "FakeWitMotion",
    "LinkScript",
    "Motion",
    "Sent",
    "VirtualDeadlock",
    "VirtualTimeLoop",
    "collect",
    "encode_pmd_delta",
    "hinge_motion",
    "run_virtual",
    "simulator_motion",
]
