// backcheck DIY tag, reference sketch: ESP32 + MPU6050 (GY-521) on I2C, NimBLE-Arduino 1.4.x.
// Implements the open profile of firmware_notes/README.md (version 1).
//
// Wiring: MPU6050 VCC 3V3, GND, SDA GPIO21, SCL GPIO22 (AD0 low: address 0x68).
// Libraries: NimBLE-Arduino (h2zero) 1.4.x; Wire (core).
// NOT compiled in backcheck's CI (no Arduino toolchain there): reference code, build it in the IDE.
//
// Timing: the MPU6050 samples on its own clock (1 kHz / (1 + SMPLRT_DIV)) into its FIFO; the sketch
// drains the FIFO and stamps sample i as t_first + i × period, so loop jitter never reaches the data.
//
// ICM-42688-P instead: use SPI (it is happier there), set ACCEL_CONFIG0 / GYRO_CONFIG0 for ±4 g /
// ±1000 dps at ODR 100 or 200 Hz, enable the FIFO with 16-bit packets (FIFO_CONFIG1: accel + gyro),
// read packets of 16 bytes (header, accel XYZ, gyro XYZ, temp, 16-bit timestamp) BIG-endian, and
// publish ACC_G_PER_LSB = 1/8192, GYRO_DPS_PER_LSB = 1/32.8 in Info with sensor id 3.

#include <NimBLEDevice.h>
#include <Wire.h>

#define SVC_UUID     "b4c30000-5e1d-4a6b-9c0e-6261636b6368"
#define DATA_UUID    "b4c30001-5e1d-4a6b-9c0e-6261636b6368"
#define CONTROL_UUID "b4c30002-5e1d-4a6b-9c0e-6261636b6368"
#define INFO_UUID    "b4c30003-5e1d-4a6b-9c0e-6261636b6368"

const uint8_t MPU = 0x68;
const uint8_t PROFILE_VERSION = 1, FLAG_GYRO = 0x01, MAX_BATCH = 19;
const float ACC_G_PER_LSB = 1.0f / 8192;   // ±4 g
const float GYRO_DPS_PER_LSB = 1.0f / 32.8f; // ±1000 °/s

NimBLECharacteristic *dataChar, *infoChar;
volatile bool streaming = false, connected = false;
uint16_t rateHz = 100, seq = 0;
uint8_t batch = 10, frame[10 + 12 * MAX_BATCH], nInFrame = 0;
uint32_t sampleUs = 0;  // device time of the next sample taken out of the FIFO

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> (8 * i); }
static void mpuWrite(uint8_t reg, uint8_t v) { Wire.beginTransmission(MPU); Wire.write(reg); Wire.write(v); Wire.endTransmission(); }
static void mpuRead(uint8_t reg, uint8_t *buf, uint8_t n) {
  Wire.beginTransmission(MPU); Wire.write(reg); Wire.endTransmission(false);
  Wire.requestFrom(MPU, n); for (uint8_t i = 0; i < n; i++) buf[i] = Wire.read();
}

void configureMpu() {
  mpuWrite(0x6B, 0x01);                    // wake, PLL with X gyro clock
  mpuWrite(0x1A, 0x03);                    // DLPF 44 Hz (gyro output rate 1 kHz)
  mpuWrite(0x19, 1000 / rateHz - 1);       // SMPLRT_DIV: 100 Hz -> 9, 200 Hz -> 4
  mpuWrite(0x1B, 0x10);                    // gyro ±1000 °/s
  mpuWrite(0x1C, 0x08);                    // accel ±4 g
  mpuWrite(0x6A, 0x04);                    // FIFO reset
  mpuWrite(0x6A, 0x40);                    // FIFO enable
  mpuWrite(0x23, 0x78);                    // accel + gyro XYZ into the FIFO (12 bytes per sample)
}

void publishInfo() {
  uint8_t info[16];
  info[0] = PROFILE_VERSION; info[1] = 2;  // MPU6050
  put16(info + 2, 1); put16(info + 4, rateHz); put16(info + 6, MAX_BATCH);
  memcpy(info + 8, &ACC_G_PER_LSB, 4); memcpy(info + 12, &GYRO_DPS_PER_LSB, 4);
  infoChar->setValue(info, sizeof info);
}

class ControlCallbacks : public NimBLECharacteristicCallbacks {
  void onWrite(NimBLECharacteristic *c) override {
    std::string v = c->getValue();
    if (v.size() >= 1 && v[0] == 0x01) { configureMpu(); nInFrame = 0; sampleUs = micros(); streaming = true; }
    else if (v.size() >= 1 && v[0] == 0x00) { streaming = false; }
    else if (v.size() >= 3 && v[0] == 0x02) {
      uint16_t hz = (uint8_t)v[1] | ((uint8_t)v[2] << 8);
      rateHz = hz >= 150 ? 200 : (hz >= 75 ? 100 : 50);
      publishInfo();
    } else if (v.size() >= 2 && v[0] == 0x03 && v[1] >= 1 && v[1] <= MAX_BATCH) { batch = v[1]; }
  }
};

class ServerCallbacks : public NimBLEServerCallbacks {
  void onConnect(NimBLEServer *s) override { connected = true; }
  void onDisconnect(NimBLEServer *s) override { connected = false; streaming = false; NimBLEDevice::startAdvertising(); }
};

void setup() {
  Wire.begin(21, 22, 400000);
  configureMpu();
  char name[20];
  snprintf(name, sizeof name, "backcheck-%04X", (unsigned)(ESP.getEfuseMac() & 0xFFFF));
  NimBLEDevice::init(name);
  NimBLEDevice::setMTU(247);
  NimBLEServer *server = NimBLEDevice::createServer();
  server->setCallbacks(new ServerCallbacks());
  NimBLEService *svc = server->createService(SVC_UUID);
  dataChar = svc->createCharacteristic(DATA_UUID, NIMBLE_PROPERTY::NOTIFY);
  svc->createCharacteristic(CONTROL_UUID, NIMBLE_PROPERTY::WRITE)->setCallbacks(new ControlCallbacks());
  infoChar = svc->createCharacteristic(INFO_UUID, NIMBLE_PROPERTY::READ);
  publishInfo();
  svc->start();
  NimBLEAdvertising *adv = NimBLEDevice::getAdvertising();
  adv->addServiceUUID(SVC_UUID);
  adv->setScanResponse(true);  // the name goes into the scan response (the 128-bit UUID fills the advert)
  adv->start();
}

void loop() {
  if (!connected || !streaming) { delay(5); return; }
  uint8_t cnt[2];
  mpuRead(0x72, cnt, 2);
  uint16_t bytes = (cnt[0] << 8) | cnt[1];
  if (bytes >= 1024) { mpuWrite(0x6A, 0x44); sampleUs += (bytes / 12) * (1000000UL / rateHz); return; }  // overflow: skip
  uint32_t periodUs = 1000000UL / rateHz;
  for (uint16_t k = 0; k < bytes / 12; k++) {
    uint8_t s[12];
    mpuRead(0x74, s, 12);
    if (nInFrame == 0) {
      frame[0] = (PROFILE_VERSION << 4) | FLAG_GYRO;
      put16(frame + 2, seq); put32(frame + 4, sampleUs); put16(frame + 8, periodUs);
    }
    for (int j = 0; j < 6; j++) {  // MPU6050 registers are big-endian; the profile is little-endian
      int16_t v = (int16_t)((s[2 * j] << 8) | s[2 * j + 1]);
      put16(frame + 10 + 12 * nInFrame + 2 * j, (uint16_t)v);
    }
    sampleUs += periodUs;
    if (++nInFrame == batch) {
      frame[1] = nInFrame;
      dataChar->setValue(frame, 10 + 12 * nInFrame);
      dataChar->notify();
      seq++;
      nInFrame = 0;
    }
  }
  delay(2);
}
