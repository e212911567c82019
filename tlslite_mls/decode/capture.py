"""TCP streams out of a pcap or pcapng file (dpkt): one byte stream per direction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

Endpoint = tuple[str, int]


@dataclass
class Stream:
    """One TCP connection: the bytes each side sent, in order."""

    client: Endpoint
    server: Endpoint
    segments: dict[Endpoint, dict[int, bytes]] = field(default_factory=dict)
    isn: dict[Endpoint, int] = field(default_factory=dict)
    frames: dict[Endpoint, dict[int, int]] = field(default_factory=dict)

    def data(self, sender: Endpoint) -> tuple[bytes, list[tuple[int, int]]]:
        """The sender's bytes in sequence order (retransmissions once; stops at a gap),
        and (end offset, frame number) of each segment, to date what was decoded."""
        out = bytearray()
        ends: list[tuple[int, int]] = []
        start = self.isn.get(sender)
        segs = self.segments.get(sender, {})
        if start is None:
            start = min(segs) if segs else 0
        pos = start
        for seq in sorted(segs):
            data = segs[seq]
            if seq > pos:
                break  # a gap the capture missed
            if seq + len(data) > pos:
                out += data[pos - seq:]
                pos = seq + len(data)
                ends.append((len(out), self.frames[sender][seq]))
        return bytes(out), ends


def _open(f: BinaryIO):  # type: ignore[no-untyped-def]
    import dpkt
    magic = f.read(4)
    f.seek(0)
    return dpkt.pcapng.Reader(f) if magic == b"\x0a\x0d\x0d\x0a" else dpkt.pcap.Reader(f)


def read_streams(path: str) -> list[Stream]:
    """Every TCP connection of the capture that carried data, in order of appearance."""
    try:
        import dpkt
    except ImportError:
        raise SystemExit("decode needs dpkt: pip install 'tlslite_mls[decode]'") from None
    active: dict[frozenset, Stream] = {}
    created: list[Stream] = []
    with open(path, "rb") as f:
        reader = _open(f)
        for frame_no, (_, frame) in enumerate(reader, start=1):
            tcp, src, dst = _tcp(reader, frame)
            if tcp is None:
                continue
            a, b = (src, tcp.sport), (dst, tcp.dport)
            key = frozenset((a, b))
            syn = bool(tcp.flags & dpkt.tcp.TH_SYN)
            ack = bool(tcp.flags & dpkt.tcp.TH_ACK)
            if key not in active or (syn and not ack and active[key].segments):
                active[key] = Stream(client=a, server=b)  # also a port pair used again
                created.append(active[key])
            s = active[key]
            if syn and ack:
                s.client, s.server = b, a
            if syn:
                s.isn[a] = (tcp.seq + 1) & 0xFFFFFFFF
            if tcp.data:
                s.segments.setdefault(a, {})[tcp.seq] = bytes(tcp.data)
                s.frames.setdefault(a, {}).setdefault(tcp.seq, frame_no)
    return [s for s in created if s.segments]


def _tcp(reader, frame: bytes):  # type: ignore[no-untyped-def]
    import socket

    import dpkt
    link = reader.datalink()
    try:
        if link == dpkt.pcap.DLT_EN10MB:
            ip = dpkt.ethernet.Ethernet(frame).data
        elif link in (dpkt.pcap.DLT_LINUX_SLL,):
            ip = dpkt.sll.SLL(frame).data
        elif link in (dpkt.pcap.DLT_RAW, 101):
            ip = dpkt.ip.IP(frame)
        elif link == dpkt.pcap.DLT_NULL:
            ip = dpkt.loopback.Loopback(frame).data
        else:
            return None, None, None
    except (dpkt.UnpackError, IndexError):
        return None, None, None
    if isinstance(ip, dpkt.ip.IP):
        family = socket.AF_INET
    elif isinstance(ip, dpkt.ip6.IP6):
        family = socket.AF_INET6
    else:
        return None, None, None
    if not isinstance(ip.data, dpkt.tcp.TCP):
        return None, None, None
    return ip.data, socket.inet_ntop(family, ip.src), socket.inet_ntop(family, ip.dst)
