"""User-facing errors: one sentence saying what and where, and a distinct exit code each.

The CLI catches these and prints the sentence without a traceback. Anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 2  # argparse's own code for a bad command line
EXIT_BAD_INPUT = 3  # a file or stream the user gave us is malformed
EXIT_WOULD_OVERWRITE = 4  # the output exists and --force was not given
EXIT_NOT_AVAILABLE = 5  # the capability has not landed yet
EXIT_DEVICE = 6  # a sensor, phone or Bluetooth adapter could not be reached


class UserError(Exception):
    """A problem the user can fix; `str(err)` is the whole message."""

    exit_code = EXIT_BAD_INPUT


class InputError(UserError):
    """Malformed input: the message names the file, the line or column, and what was expected."""

    exit_code = EXIT_BAD_INPUT


class OverwriteError(UserError):
    exit_code = EXIT_WOULD_OVERWRITE

    def __init__(self, path: object) -> None:
        super().__init__(f"{path} already exists; pass --force to overwrite it")


class NotAvailableError(UserError):
    exit_code = EXIT_NOT_AVAILABLE


class DeviceError(UserError):
    exit_code = EXIT_DEVICE
