"""`vqa devices` and `vqa press`: the inventory, and keys sent to a device to check its control path by hand.

vqa devices [--inventory PATH]
vqa press --device NAME [--inventory PATH] KEY [KEY ...] [--delay-ms N]

Works for every control scheme, the simulated devices included; prints each key as it goes and
the player's state afterwards where the platform reports one. Exit 0 when every key was sent,
2 (one line on stderr) for a bad key, an unknown device, or a device that did not take a key.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from harness.cli.common import EXIT_CLEAN, CliError, held_device_spec


def cmd_devices(args: argparse.Namespace) -> int:
    from harness.config import InventoryError, load_inventory

    try:
        inv = load_inventory(args.inventory)
    except InventoryError as e:
        raise CliError(str(e)) from None
    for d in inv.devices:
        faults = len(d.simulator.faults) if d.simulator else 0
        extra = f"  faults={faults}" if faults else ""
        print(
            f"{d.name:<16} {d.kind:<8} {d.control:<28} video={d.rig.video} audio={d.rig.audio or '-'}"
            f"  features={','.join(d.features) or '-'}{extra}"
        )
    return EXIT_CLEAN


def _status_line(device: Any) -> str:
    st = device.status()
    if st is None:
        return f"status: not reported by {device.spec.control_scheme}:// control"
    where = f" {st.title_id}" if st.title_id else ""
    return f"status: {st.state}{where} at {st.position_s:.2f} s"


def cmd_press(args: argparse.Namespace) -> int:
    from devices import KEYS, DeviceError, open_device

    unknown = [k for k in args.keys if k not in KEYS]
    if unknown:
        raise CliError(f"unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(KEYS))}")
    if args.delay_ms < 0:
        raise CliError("--delay-ms must be 0 or more")
    spec = held_device_spec(args.inventory, args.device)
    try:
        device = open_device(spec)
        device.open()
        try:
            for i, key in enumerate(args.keys):
                if i and args.delay_ms:
                    time.sleep(args.delay_ms / 1000.0)
                device.press(key)
                print(f"{spec.name}: pressed {key}", flush=True)
            print(_status_line(device))
        finally:
            device.close()
    except DeviceError as e:
        raise CliError(str(e)) from None
    return EXIT_CLEAN


def register(subparsers: Any) -> None:
    """Add `devices` and `press` to `vqa`'s sub-commands."""
    d = subparsers.add_parser("devices", help="list the lab inventory")
    d.add_argument("--inventory", help="inventory YAML (default: $VQA_INVENTORY or devices/lab.yaml)")
    d.set_defaults(func=cmd_devices)
    p = subparsers.add_parser("press", help="send keys to a device (check its control path)")
    p.add_argument("--device", required=True, help="device name in the inventory")
    p.add_argument("--inventory", help="inventory YAML (default: $VQA_INVENTORY or devices/lab.yaml)")
    p.add_argument("--delay-ms", type=int, default=300, help="pause between keys in ms (default 300)")
    p.add_argument("keys", nargs="+", metavar="KEY", help="keys to press in order (home, select, play_pause, 0-9 ...)")
    p.set_defaults(func=cmd_press)
