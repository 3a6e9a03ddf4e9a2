"""Tiny MP4 files written box by box (ftyp, moov with mvhd and trak/tkhd/mdia/hdlr, mdat), for tests.

They hold no playable frames: only the boxes a prober reads. `mdat_bytes` pads the media data
so a file can be made as large as a platform rule needs.
"""

from __future__ import annotations

import struct

IDENTITY = (0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
QUARTER_TURN = (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full(version: int, flags: int = 0) -> bytes:
    return struct.pack(">I", (version << 24) | flags)


def mvhd(duration: float, timescale: int = 1000, version: int = 0) -> bytes:
    ticks = round(duration * timescale)
    times = struct.pack(">QQIQ", 0, 0, timescale, ticks) if version == 1 else struct.pack(">IIII", 0, 0, timescale, ticks)
    rest = struct.pack(">iH10x9i24xI", 0x10000, 0x100, *IDENTITY, 2)
    return box(b"mvhd", _full(version) + times + rest)


def tkhd(width: int, height: int, version: int = 0, matrix: tuple[int, ...] = IDENTITY) -> bytes:
    ids = struct.pack(">QQII", 0, 0, 1, 0) + struct.pack(">Q", 0) if version == 1 else struct.pack(">IIIII", 0, 0, 1, 0, 0)
    rest = struct.pack(">8xhhH2x9i", 0, 0, 0, *matrix) + struct.pack(">II", width << 16, height << 16)
    return box(b"tkhd", _full(version, 3) + ids + rest)


def hdlr(handler: bytes) -> bytes:
    return box(b"hdlr", _full(0) + struct.pack(">I4s12x", 0, handler) + b"Handler\0")


def trak(width: int, height: int, handler: bytes = b"vide", version: int = 0, matrix: tuple[int, ...] = IDENTITY) -> bytes:
    return box(b"trak", tkhd(width, height, version, matrix) + box(b"mdia", hdlr(handler)))


def mp4(duration: float = 12.0, width: int = 1280, height: int = 720, *, timescale: int = 1000, version: int = 0,
        rotated: bool = False, moov_first: bool = True, audio_only: bool = False, mdat_bytes: int = 64) -> bytes:
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2avc1mp41")
    tracks = trak(0, 0, b"soun", version) if audio_only else trak(0, 0, b"soun", version) + trak(
        width, height, b"vide", version, QUARTER_TURN if rotated else IDENTITY)
    moov = box(b"moov", mvhd(duration, timescale, version) + tracks)
    mdat = box(b"mdat", b"\0" * mdat_bytes)
    return ftyp + (moov + mdat if moov_first else mdat + moov)
