"""BLE IMU tags as live sources: profiles, decoders, clock fitting, reconnecting `BleSource`.

`open_ble_source("diy@backcheck-1234")` is what `--source ble:...` builds; `backcheck scan` lists
nearby devices and the profile each matches; `sensor.ble.fake` drives all of it without a radio.
"""

from sensor.ble.profiles import PROFILES, match_profile
from sensor.ble.source import BleSettings, BleSource, open_ble_source

__all__ = ["PROFILES", "BleSettings", "BleSource", "match_profile", "open_ble_source"]
