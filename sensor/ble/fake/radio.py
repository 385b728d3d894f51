"""The radio and the clock of the fakes: bleak scanner/client backends and a virtual-time event loop.

`FakeAir` holds the `FakePeripheral`s in range; `air.scanner_backend` and `FakeBleakClient` plug
into bleak's own backend hook (`BleakScanner(backend=)`, `BleakClient(backend=)`), so the real
bleak and `BleSource` code runs against them. `run_virtual` runs a coroutine on an event loop
whose clock jumps to the next timer when every task waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDeviceNotFoundError,
)

if TYPE_CHECKING:
    from sensor.ble.fake.peripherals import FakePeripheral

# --- virtual time -------------------------------------------------------------------------------

class VirtualDeadlock(RuntimeError):
    """Every task waits and no timer is scheduled: the test would hang forever."""


class _VirtualSelector:
    def __init__(self, real: Any, loop: VirtualTimeLoop) -> None:
        self._real, self._loop = real, loop

    def select(self, timeout: float | None = None) -> list:
        if timeout is None:
            raise VirtualDeadlock("every task is waiting and nothing is scheduled")
        self._loop.now_s += timeout
        return self._real.select(0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose `time()` jumps to the next timer instead of waiting for it."""

    def __init__(self) -> None:
        self.now_s = 1000.0
        super().__init__()
        self._selector = _VirtualSelector(self._selector, self)

    def time(self) -> float:
        return self.now_s


def run_virtual(coro: Coroutine[Any, Any, Any]) -> Any:
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coro)


# --- the bleak backends -------------------------------------------------------------------------

class FakeAir:
    """The radio neighbourhood: peripherals that a FakeBleakScanner can see."""

    def __init__(self, adapter_present: bool = True) -> None:
        self.peripherals: list[FakePeripheral] = []
        self.adapter_present = adapter_present

    @property
    def scanner_backend(self) -> type[FakeBleakScanner]:
        return type("FakeBleakScanner", (FakeBleakScanner,), {"air": self})


class FakeBleakScanner(BaseBleakScanner):
    air: FakeAir
    ADVERTISING_INTERVAL_S = 0.1

    def __init__(
        self, detection_callback: Any, service_uuids: list[str] | None, *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        if not self.air.adapter_present:
            raise BleakBluetoothNotAvailableError(
                "no Bluetooth adapter", BleakBluetoothNotAvailableReason.NO_BLUETOOTH
            )
        self.seen_devices = {}
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            for p in self.air.peripherals:
                adv = AdvertisementData(p.name, {}, {}, list(p.advertised_uuids), None, p.rssi, ())
                if p.advertising(loop.time()) and self.is_allowed_uuid(adv.service_uuids):
                    self.call_detection_callbacks(
                        self.create_or_update_device(p.address, p.address, p.name, p, adv), adv
                    )
            await asyncio.sleep(self.ADVERTISING_INTERVAL_S)


class FakeBleakClient(BaseBleakClient):
    """A bleak client backend connected to a FakePeripheral (the BLEDevice's `details`)."""

    CONNECT_S = 0.3

    def __init__(self, address_or_ble_device: Any, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=kwargs.get("timeout", 10.0),
        )
        self._peripheral: FakePeripheral | None = getattr(address_or_ble_device, "details", None)
        self._callbacks: dict[str, NotifyCallback] = {}
        self._connected = False

    @property
    def name(self) -> str:
        return self._peripheral.name if self._peripheral else self.address

    @property
    def mtu_size(self) -> int:
        return 247

    @property
    def is_connected(self) -> bool:
        return self._connected

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        await asyncio.sleep(self.CONNECT_S)
        p = self._peripheral
        if p is None or not p.advertising(asyncio.get_running_loop().time()):
            raise BleakDeviceNotFoundError(self.address, f"Device with address {self.address} was not found.")
        self.services = BleakGATTServiceCollection()
        handle = 1
        for service_uuid, chars in p.layout.items():
            service = BleakGATTService(None, handle, service_uuid)
            self.services.add_service(service)
            for char_uuid, props in chars:
                handle += 2
                self.services.add_characteristic(
                    BleakGATTCharacteristic(None, handle, char_uuid, props, lambda: 244, service)
                )
            handle += 1
        p.client, self._connected = self, True

    async def disconnect(self) -> None:
        if self._connected and self._peripheral is not None:
            self._peripheral.stop_streaming()
            self._peripheral.client = None
        self._connected = False

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def unpair(self) -> None:
        return None

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any) -> bytearray:
        return bytearray(self._peripheral.read(characteristic.uuid))

    async def read_gatt_descriptor(self, descriptor: Any, **kwargs: Any) -> bytearray:
        raise NotImplementedError("the fake peripherals have no descriptors")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        await asyncio.sleep(0.015 if response else 0.0)  # a write request waits for a connection event
        self._peripheral.write(characteristic.uuid, bytes(data))

    async def write_gatt_descriptor(self, descriptor: Any, data: Any) -> None:
        raise NotImplementedError("the fake peripherals have no descriptors")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._callbacks[characteristic.uuid] = callback
        self._peripheral.subscribed(characteristic.uuid)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._callbacks.pop(characteristic.uuid, None)

    def notify(self, uuid: str, data: bytes) -> None:
        if self._connected and uuid in self._callbacks:
            self._callbacks[uuid](bytearray(data))

    def link_lost(self) -> None:
        self._connected = False
        if self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)


async def collect(
    source: AsyncIterator, until: Callable[[list], bool] | None = None
) -> tuple[list, Exception | None]:
    """All blocks of a source until it raises (e.g. DeviceError after the device powers off) or `until`."""
    blocks: list = []
    try:
        async for block in source:
            blocks.append(block)
            if until is not None and until(blocks):
                break
    except Exception as err:  # the end of a scripted session is an error of the source
        return blocks, err
    return blocks, None
