"""Trunk orientation and calibration from a lower-back IMU: signed flexion, lateral bend, rates.

Method (all causal; state carried between blocks, so any split of a recording gives identical output):

1. Tilt: a gravity-vector complementary filter. The up vector in the sensor frame is turned by the
   bias-corrected gyroscope (trapezoidal rate, second-order rotation) and pulled toward the
   accelerometer with `gain`, unless the accelerometer is busy with acceleration: the correction is
   skipped while its direction differs from the estimate by more than `acceleration_rejection_deg` or
   its magnitude from gravity by more than `acceleration_rejection_mps2` (x-io Fusion's acceleration
   rejection), and forced again after `recovery_time_s` of continuous rejection. A gap longer than
   `gap_s` restarts the tilt from the accelerometer and settles it as at the start, but not where the accelerometer
   agrees with the tilt held through the gap within `gap_keep_deg` (the trunk did not turn in it). A gyroscope
   reading more than `gyro_glitch_jump_dps` from the last one (a corrupt sample: no trunk turns so) is held at the
   last, for up to two samples.
2. Stillness: |gyro - bias| < `still_gyro_dps` and ||acc| - g| < `still_acc_mps2` for `still_time_s`.
   While still, the gyroscope bias follows the gyroscope (running mean, then a low-pass with
   `bias_time_constant_s`).
3. Neutral: the mean accelerometer direction of the first stillness (assumed standing); refreshed by
   later still periods within `neutral_refresh_max_deg` of the first one (so not while bent over or
   seated, and never creeping away step by step), at most every 0.1 s (the mean of a still run changes
   by hundredths of a degree in that time; a refresh per sample cost a tenth of the filter's time). Before it,
   angles are relative to the first sample's gravity and `calibrated` is False. A recording begun in the set-up
   of a deadlift or the hold of a row has no standing pose first: a first neutral whose skin normal (the
   sensor's z axis, taped flat on the back) tips more than `neutral_max_skin_tilt_deg` from horizontal was not
   standing, and the first later stillness within `standing_max_skin_tilt_deg` of horizontal and at least
   `reanchor_min_deg` from it (a deadlift's lockout, a rest) replaces it (`reanchored_t_s`), the sagittal plane
   then decided again (4, 5); angles before it stay as they were measured. A standing neutral gives way in the
   same way to a sensor turned on the body (a phone put back in its pack another way): a standing still pose
   turned more than `sensor_moved_min_deg` from it about the skin normal (the skin as upright as before, within
   `sensor_moved_same_deg`), seen in two still runs 3 s or more apart with no stillness back at the neutral between
   (`sensor_moves`).
4. Sagittal plane: when the trunk first tilts more than `sagittal_decide_deg` from neutral, the flexion
   axis is the principal axis of the horizontal (perpendicular to neutral up) gyroscope rotation so far,
   signed so that this first large excursion is forward flexion (the excursion's own axis instead when
   that rotation lies more than 30° off it, or none was gathered: a gap made the tilt settle during
   the lean); refined (sign kept) with the rotation of the rest of that excursion until it turns back
   by half of `sagittal_decide_deg` from its deepest tilt or is held still (a row's lifter stays bent
   over, and a twisted rep would turn the plane), and kept from then on. Until then the axis
   of the largest excursion so far is used (also signed forward). The accelerometer-only plane is
   decided once, unrefined.
5. Sign check: that first large excursion may have been a lean back (a stretch, a seated pull after a
   sit-down the data missed). Until an excursion past `sign_check_deg` forward confirms the sign, one past it
   on the backward side that is back within `sign_return_deg` of neutral in `sign_check_s` (a bend: no lifter
   leans back that far and straight up again; lying down on a bench lasts longer) turns it round from then on
   (`sign_flipped_t_s`; angles before it stay mirrored: the filter is causal).

Accelerometer-only mode: the tilt is the accelerometer low-passed with `accelerometer_only_time_constant_s`
(one pole); it errs by the linear acceleration of fast reps (several degrees), `flexion_rate_dps` is the
derivative of that flexion and `twist_rate_dps` is NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from analysis import _orientation_kernels as k
from analysis.samples import STANDARD_GRAVITY_MPS2, Samples


@dataclass(frozen=True)
class OrientationSettings:
    """Settings of `TrunkOrientation`, in human units."""

    gain: float = 0.5  # 1/s: accelerometer correction rate (0 = gyroscope only)
    acceleration_rejection_deg: float = 10.0  # skip correction when acc and estimate differ by more
    acceleration_rejection_mps2: float = 1.5  # ... or when | |acc| - g | is larger
    recovery_time_s: float = 5.0  # force correction after this long of continuous rejection
    still_gyro_dps: float = 1.5  # still: bias-corrected angular rate below this
    gyro_bias_max_dps: float = 4.0  # largest bias expected: widens the still test until a bias is known
    still_acc_mps2: float = 0.6  # still: | |acc| - g | below this (acc-only: also |acc - low-pass|)
    still_time_s: float = 1.0  # ... for at least this long
    bias_time_constant_s: float = 5.0  # gyroscope bias low-pass while still
    bias_check_s: float = 3.0  # the accelerometer reads gravity alone, steady, this long while the bias-corrected
    # gyroscope reads a turn: the bias is wrong (learnt in a slow movement taken for stillness), learnt again
    bias_check_deg: float = 2.0  # steady: the accelerometer's direction within this of where it began
    neutral_refresh_max_deg: float = 2.0  # a later stillness refreshes neutral this close to the first
    neutral_max_skin_tilt_deg: float = 40.0  # a first neutral whose skin normal (the sensor's z axis, taped flat on
    # the back) tips further than this from horizontal was not standing (a deadlift's set-up, a row's hold) ...
    standing_max_skin_tilt_deg: float = 20.0  # ... and gives way to the first later stillness within this of
    # horizontal (standing: the lumbar curve tips it 0-20 deg) ...
    reanchor_min_deg: float = 30.0  # ... and at least this far from it (not a seat: the pelvis tips 15-25 deg)
    sensor_moved_min_deg: float = 15.0  # a standing still pose turned this far from a standing first neutral about
    # the skin normal (its tilt from horizontal the same within sensor_moved_same_deg: not a seat or a bend) ...
    sensor_moved_same_deg: float = 4.0  # ... and within this of one in a still run 3 s or more before, is the sensor
    # turned on the body (a phone put back in its pack): it becomes the neutral (not a stretch: one back at the
    # neutral in between drops it)
    sagittal_decide_deg: float = 12.0  # first excursion that decides the sagittal plane
    gap_s: float = 0.25  # a longer step in t restarts the tilt from the accelerometer ...
    gap_keep_deg: float = 3.0  # ... with no settling where it is within this of the tilt held through the gap
    gyro_glitch_jump_dps: float = 800.0  # a gyroscope reading this far (vector norm) from the last one is a glitch
    # (a corrupt sample or packet; trunks change rate by at most ~220 deg/s a sample, simulated at 25 Hz, 21 in the
    # real squats): the last reading is held, for up to two samples (else one spike turns the tilt by ~20 deg)
    settle_time_s: float = 1.0  # after a (re)start: gain ramps down from settle_gain, no rejection
    settle_gain: float = 10.0  # 1/s
    accelerometer_only_time_constant_s: float = 0.1  # low-pass of the accelerometer-only tilt
    accelerometer_only_decide_time_constant_s: float = 0.5  # slower low-pass deciding the sagittal plane
    gravity_mps2: float = STANDARD_GRAVITY_MPS2
    sign_check_deg: float = 50.0  # a bend past this on the backward side turns the sagittal plane's sign round
    sign_return_deg: float = 10.0  # ... once the trunk is back this close to neutral ...
    sign_check_s: float = 8.0  # ... within this long of passing it (else the lifter lay down: kept)

    def params(self, accelerometer_only: bool) -> np.ndarray:
        p = np.zeros(k.PARAMS_SIZE)
        p[k.GAIN] = self.gain
        p[k.REJECT_COS] = math.cos(math.radians(self.acceleration_rejection_deg))
        p[k.REJECT_MPS2] = self.acceleration_rejection_mps2
        p[k.RECOVERY_S] = self.recovery_time_s
        p[k.STILL_GYRO] = math.radians(self.still_gyro_dps)
        p[k.STILL_GYRO_FIRST] = math.radians(self.still_gyro_dps + self.gyro_bias_max_dps)
        p[k.STILL_ACC] = self.still_acc_mps2
        p[k.STILL_TIME] = self.still_time_s
        p[k.BIAS_TAU] = self.bias_time_constant_s
        p[k.REFRESH_COS] = math.cos(math.radians(self.neutral_refresh_max_deg))
        p[k.GAP_S] = self.gap_s
        p[k.GAP_KEEP_COS] = math.cos(math.radians(self.gap_keep_deg))
        p[k.GYRO_GLITCH] = math.radians(self.gyro_glitch_jump_dps)
        p[k.DECIDE_COS] = math.cos(math.radians(self.sagittal_decide_deg))
        p[k.SETTLE_S] = self.settle_time_s
        p[k.SETTLE_GAIN] = self.settle_gain
        p[k.GATHER_COS] = math.cos(math.radians(0.5 * self.sagittal_decide_deg))
        p[k.ACC_ONLY] = 1.0 if accelerometer_only else 0.0
        p[k.ACC_TAU] = self.accelerometer_only_time_constant_s
        p[k.ACC_SLOW_TAU] = self.accelerometer_only_decide_time_constant_s
        p[k.GRAVITY] = self.gravity_mps2
        p[k.SIGN_COS], p[k.SIGN_SIN] = math.cos(math.radians(self.sign_check_deg)), math.sin(
            math.radians(self.sign_check_deg))
        p[k.RETURN_COS], p[k.RETURN_SIN] = math.cos(math.radians(self.sign_return_deg)), math.sin(
            math.radians(self.sign_return_deg))
        p[k.SIGN_CHECK_S] = self.sign_check_s
        p[k.BIAS_CHECK_S] = self.bias_check_s
        p[k.BIAS_CHECK_COS] = math.cos(math.radians(self.bias_check_deg))
        p[k.BIAS_CHECK_MAX] = 2.0 * math.radians(self.still_gyro_dps + self.gyro_bias_max_dps)
        p[k.FIRST_MAX_SIN] = math.sin(math.radians(self.neutral_max_skin_tilt_deg))
        p[k.STANDING_MAX_SIN] = math.sin(math.radians(self.standing_max_skin_tilt_deg))
        p[k.REANCHOR_COS] = math.cos(math.radians(self.reanchor_min_deg))
        p[k.SHIFT_COS] = math.cos(math.radians(self.sensor_moved_min_deg))
        p[k.SAME_COS] = math.cos(math.radians(self.sensor_moved_same_deg))
        p[k.SAME_SIN] = math.sin(math.radians(self.sensor_moved_same_deg))
        return p


class TrunkAngles(NamedTuple):
    """Per-sample trunk angles, all (n,) arrays aligned with the input block (a tuple: cheap per block)."""

    t_s: np.ndarray
    flexion_deg: np.ndarray  # sagittal inclination from neutral: forward +, leaning back -
    lateral_deg: np.ndarray  # lateral bend: right +
    flexion_rate_dps: np.ndarray  # rate about the flexion axis: flexing +
    twist_rate_dps: np.ndarray  # rate about the trunk's long axis: turning right +; NaN without gyro
    still: np.ndarray  # bool: the lifter has been still for still_time_s
    calibrated: np.ndarray  # bool: angles are relative to a neutral standing pose
    reanchored: np.ndarray  # bool: the neutral was taken again at this sample (`reanchored_t_s`, `sensor_moves`)
    flipped: np.ndarray  # bool: forward and back were turned round at this sample (`sign_flipped_t_s`)
    acc_norm_mps2: np.ndarray  # |acc| (m/s², gravity included), which the filter computes anyway


class StandingPose(NamedTuple):
    """The standing pose an earlier pass over a recording found (`TrunkOrientation.standing_found`), to begin a new
    pass from: its up vector and, where that pass decided the sagittal plane from it, the flexion axis (both in the
    sensor frame) and whether the plane's sign was confirmed (item 5)."""

    up: np.ndarray
    flexion_axis: np.ndarray | None
    sign_final: bool


class TrunkOrientation:
    """Causal trunk orientation: feed blocks in time order with `process`."""

    def __init__(
        self, settings: OrientationSettings = OrientationSettings(), *, accelerometer_only: bool = False,
        standing: StandingPose | None = None,
    ) -> None:
        """standing: the lifter's standing pose known before the recording begins (an earlier pass's
        `standing_found`): the neutral from the first sample on (a first still moment does not replace it, item 3;
        a sensor turned on the body still can), and the sagittal plane with it where known."""
        self.settings = settings
        self.accelerometer_only = accelerometer_only
        self._params = settings.params(accelerometer_only)
        self._state = k.new_state()
        if standing is not None:
            self._begin_standing(standing)

    def _begin_standing(self, standing: StandingPose) -> None:
        up = np.asarray(standing.up, dtype=float)
        if up.shape != (3,) or not np.isfinite(up).all() or not np.linalg.norm(up) > 0:
            raise ValueError(f"standing pose: the up vector must be 3 finite numbers, not all 0; got {standing.up!r}")
        state = self._state
        up = up / np.linalg.norm(up)
        state[k.N0 : k.N0 + 3] = state[k.N_FIRST0 : k.N_FIRST0 + 3] = up
        state[k.CALIBRATED] = 1.0
        if standing.flexion_axis is not None:
            axes = k._axes(*up, *np.asarray(standing.flexion_axis, dtype=float))
            state[k.A0 : k.A0 + 3], state[k.F0 : k.F0 + 3] = axes[:3], axes[3:]
            state[k.DECIDED], state[k.SIGN_FINAL] = 2.0, 1.0 if standing.sign_final else 0.0

    def process(self, block: Samples) -> TrunkAngles:
        """Angles for one block of samples (which must follow the previous block in time)."""
        t = block.t
        n = t.size
        state = self._state
        if n and state[k.STARTED] and t[0] <= state[k.T_PREV]:
            raise ValueError(f"block starts at {t[0]!r} s, not after the previous one")
        gyro = block.gyro
        if gyro is None:
            if not self.accelerometer_only:
                raise ValueError("block has no gyroscope; use TrunkOrientation(accelerometer_only=True)")
            gyro = np.zeros((n, 3))
        out = np.empty((k.OUT_ROWS, n))
        flags = np.empty((k.FLAG_ROWS, n), dtype=np.bool_)
        k._run(t, block.acc, k._held_gyro(t, gyro, state, self._params), state, self._params, out, flags)
        return TrunkAngles(t, out[k.FLEXION], out[k.LATERAL], out[k.FLEXION_RATE], out[k.TWIST_RATE],
                           flags[k.STILL], flags[k.CALIBRATED_OUT], flags[k.REANCHORED_OUT], flags[k.FLIPPED_OUT],
                           out[k.ACC_NORM])

    @property
    def neutral_t_s(self) -> float | None:
        """Time of the first neutral calibration (s), or None before it (or with a `standing` pose given)."""
        t = float(self._state[k.NEUTRAL_T])
        return None if self._state[k.CALIBRATED] == 0.0 or math.isnan(t) else t

    @property
    def sagittal_decided_t_s(self) -> float | None:
        """Time the sagittal plane was decided (s), or None while provisional."""
        return None if self._state[k.DECIDED] == 0.0 else float(self._state[k.DECIDED_T])

    @property
    def sign_flipped_t_s(self) -> float | None:
        """Time the sagittal plane's sign was last turned round by the sign check (s), or None."""
        t = float(self._state[k.FLIPPED_T])
        return None if math.isnan(t) else t

    @property
    def reanchored_t_s(self) -> float | None:
        """Time a first neutral that was not standing was replaced (s; item 3 of the module's method), or None."""
        t = float(self._state[k.REANCHORED_T])
        return None if math.isnan(t) else t

    @property
    def standing_found(self) -> StandingPose | None:
        """The standing pose last taken in place of a first neutral that was not standing (at `reanchored_t_s`), with
        the sagittal plane decided from it (unless the sensor turned on the body since), or None: an earlier pass's
        answer to where the recording should have begun."""
        state = self._state
        if self.reanchored_t_s is None:
            return None
        planed = state[k.DECIDED] == 2.0 and state[k.SHIFTS] == 0.0
        return StandingPose(state[k.STANDING0 : k.STANDING0 + 3].copy(),
                            state[k.A0 : k.A0 + 3].copy() if planed else None,
                            planed and state[k.SIGN_FINAL] != 0.0)

    @property
    def sensor_moves(self) -> tuple[int, float | None, float | None]:
        """How often the sensor turned on the body (a standing neutral taken again, item 3), the last time (s) and
        by how much (deg): (0, None, None) if never."""
        n = int(self._state[k.SHIFTS])
        if n == 0:
            return 0, None, None
        cos_last = min(1.0, float(self._state[k.SHIFT_COS_LAST]))
        return n, float(self._state[k.SHIFTED_T]), math.degrees(math.acos(cos_last))

    @property
    def neutral_tilt_deg(self) -> float | None:
        """Sensor tilt while standing: angle between neutral up and the nearest sensor axis (deg)."""
        if self._state[k.CALIBRATED] == 0.0:
            return None
        up = self._state[k.N0 : k.N0 + 3]
        return math.degrees(math.acos(min(1.0, float(np.max(np.abs(up))))))

    @property
    def gyro_bias_radps(self) -> np.ndarray:
        """Current gyroscope bias estimate, (3,) rad/s in the sensor frame."""
        return self._state[k.BIAS0 : k.BIAS0 + 3].copy()
