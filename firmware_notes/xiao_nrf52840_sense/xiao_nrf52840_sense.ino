// backcheck DIY tag, reference sketch: Seeed XIAO nRF52840 Sense (on-board LSM6DS3TR-C).
// Implements the open profile of firmware_notes/README.md (version 1).
//
// Board package: "Seeed nRF52 mbed-enabled Boards" (Seeed XIAO nRF52840 Sense).
// Libraries:     ArduinoBLE, "Seeed Arduino LSM6DS3".
// NOT compiled in backcheck's CI (no Arduino toolchain there): reference code, build it in the IDE.

#include <ArduinoBLE.h>
#include <LSM6DS3.h>
#include <Wire.h>

#define SVC_UUID     "b4c30000-5e1d-4a6b-9c0e-6261636b6368"
#define DATA_UUID    "b4c30001-5e1d-4a6b-9c0e-6261636b6368"
#define CONTROL_UUID "b4c30002-5e1d-4a6b-9c0e-6261636b6368"
#define INFO_UUID    "b4c30003-5e1d-4a6b-9c0e-6261636b6368"

const uint8_t  PROFILE_VERSION = 1;
const uint8_t  FLAG_GYRO = 0x01;
const uint8_t  MAX_BATCH = 19;            // (244 - 10) / 12 at ATT MTU 247
const float    ACC_G_PER_LSB = 0.000122f; // ±4 g
const float    GYRO_DPS_PER_LSB = 0.035f; // ±1000 °/s
const uint16_t FIRMWARE = 1;

LSM6DS3 imu(I2C_MODE, 0x6A);

BLEService service(SVC_UUID);
BLECharacteristic dataChar(DATA_UUID, BLENotify, 10 + 12 * MAX_BATCH);
BLECharacteristic controlChar(CONTROL_UUID, BLEWrite, 3);
BLECharacteristic infoChar(INFO_UUID, BLERead, 16);

volatile bool streaming = false;
uint16_t rateHz = 100;
uint8_t batch = 10;          // 10 samples = one frame every 100 ms at 100 Hz, 50 ms at 200 Hz
uint16_t seq = 0;
uint8_t frame[10 + 12 * MAX_BATCH];
uint8_t nInFrame = 0;
uint32_t nextSampleUs = 0;

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> (8 * i); }

void publishInfo() {
  uint8_t info[16];
  info[0] = PROFILE_VERSION;
  info[1] = 1;  // LSM6DS3
  put16(info + 2, FIRMWARE);
  put16(info + 4, rateHz);
  put16(info + 6, MAX_BATCH);
  memcpy(info + 8, &ACC_G_PER_LSB, 4);
  memcpy(info + 12, &GYRO_DPS_PER_LSB, 4);
  infoChar.writeValue(info, sizeof info);
}

void configureImu() {
  // ODR register codes: 104 Hz -> 0x40, 208 Hz -> 0x50; the LSM6DS3 runs at its own ODR and
  // we sample it on a µs schedule at rateHz (register reads are far faster than the period).
  imu.settings.accelRange = 4;
  imu.settings.gyroRange = 1000;
  imu.settings.accelSampleRate = rateHz > 104 ? 416 : 208;
  imu.settings.gyroSampleRate = rateHz > 104 ? 416 : 208;
  imu.begin();
}

void onControl(BLEDevice, BLECharacteristic c) {
  const uint8_t *v = c.value();
  int len = c.valueLength();
  if (len >= 1 && v[0] == 0x01) { streaming = true; nInFrame = 0; nextSampleUs = micros(); }
  else if (len >= 1 && v[0] == 0x00) { streaming = false; }
  else if (len >= 3 && v[0] == 0x02) {
    uint16_t hz = v[1] | (v[2] << 8);
    rateHz = hz >= 150 ? 200 : (hz >= 75 ? 100 : 50);
    configureImu();
    publishInfo();
  } else if (len >= 2 && v[0] == 0x03 && v[1] >= 1 && v[1] <= MAX_BATCH) { batch = v[1]; }
}

void setup() {
  configureImu();
  if (!BLE.begin()) { while (true) {} }
  char name[20];
  snprintf(name, sizeof name, "backcheck-%04X", (unsigned)(NRF_FICR->DEVICEADDR[0] & 0xFFFF));
  BLE.setLocalName(name);
  BLE.setDeviceName(name);
  BLE.setAdvertisedService(service);
  BLE.setConnectionInterval(12, 24);  // 15-30 ms (1.25 ms units); the central decides
  service.addCharacteristic(dataChar);
  service.addCharacteristic(controlChar);
  service.addCharacteristic(infoChar);
  BLE.addService(service);
  controlChar.setEventHandler(BLEWritten, onControl);
  publishInfo();
  BLE.advertise();
}

void sampleOnce(uint32_t tUs) {
  if (nInFrame == 0) {
    frame[0] = (PROFILE_VERSION << 4) | FLAG_GYRO;
    put16(frame + 2, seq);
    put32(frame + 4, tUs);
    put16(frame + 8, 1000000UL / rateHz);
  }
  int16_t raw[6] = {
    imu.readRawAccelX(), imu.readRawAccelY(), imu.readRawAccelZ(),
    imu.readRawGyroX(), imu.readRawGyroY(), imu.readRawGyroZ(),
  };
  memcpy(frame + 10 + 12 * nInFrame, raw, 12);  // nRF52 is little-endian
  if (++nInFrame == batch) {
    frame[1] = nInFrame;
    dataChar.writeValue(frame, 10 + 12 * nInFrame);  // a full stack drops the frame: seq shows it
    seq++;
    nInFrame = 0;
  }
}

void loop() {
  BLE.poll();
  if (!BLE.connected()) { streaming = false; return; }
  if (!streaming) return;
  uint32_t periodUs = 1000000UL / rateHz;
  // Catch up sample by sample on the µs schedule: timestamps stay exact even if poll() was slow.
  while ((int32_t)(micros() - nextSampleUs) >= 0) {
    sampleOnce(nextSampleUs);
    nextSampleUs += periodUs;
  }
}
