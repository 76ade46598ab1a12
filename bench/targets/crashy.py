#!/usr/bin/env python3
"""A small VVMP server in Python that crashes often: the fuzz bench's
crash-prone target (an independent implementation, as a third party's server
would be). It answers every whole request frame over TCP and UDP: OK when the
frame is valid, MALFORMED / BAD_CHECKSUM / UNSUPPORTED otherwise; it never
answers Announces or replies. Planted crash: a destination SAN of 0x100 or
more (the upper bytes of the 24-bit field set) exits with code 3 -- about one
fuzz case in fifty.

    python3 bench/targets/crashy.py PORT [--no-crash]
"""
import asyncio
import struct
import sys

HEADER = 32
SIZES = {1: 0, 2: 20, 3: 24, 4: 8, 5: 20, 6: 4}
SUBOPS = {1: {1, 2, 3, 0xFF}, 2: {1, 2, 0xFF}, 3: {0}, 4: {0}, 5: {0}, 6: {0}}
CRASH = '--no-crash' not in sys.argv


def answer(frame: bytes, udp: bool):
    if len(frame) < HEADER:
        return None
    opcode = struct.unpack_from('>H', frame, 0)[0]
    if opcode & 0x8000 or opcode == 7:
        return None
    dst_san = int.from_bytes(frame[5:8], 'big')
    if CRASH and dst_san >= 0x100:
        sys.stderr.write('crashy: no route to SAN %d\n' % dst_san)
        sys.stderr.flush()
        import os
        os._exit(3)
    length = struct.unpack_from('>H', frame, 29)[0] * 4
    sub = frame[28]
    if sum(frame[:HEADER + length]) % 256 != 0:
        status = 0x31
    elif HEADER + length != len(frame) or (udp and len(frame) != HEADER + length):
        status = 0x30
    elif opcode not in SIZES:
        status = 0x32
    elif sub not in SUBOPS[opcode]:
        status = 0x32
    elif length != SIZES[opcode]:
        status = 0x30
    else:
        status = 0x00
    reply = bytearray(frame[:HEADER])
    struct.pack_into('>H', reply, 0, opcode | 0x8000)
    reply[28] = status
    struct.pack_into('>H', reply, 29, 0)
    reply[31] = 0
    reply[31] = (-sum(reply)) % 256
    return bytes(reply)


class Udp(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        r = answer(data, True)
        if r:
            self.transport.sendto(r, addr)


async def tcp(reader, writer):
    buf = b''
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= HEADER:
                size = HEADER + struct.unpack_from('>H', buf, 29)[0] * 4
                if size - HEADER > 65536:
                    writer.close()
                    return
                if len(buf) < size:
                    break
                frame, buf = buf[:size], buf[size:]
                r = answer(frame, False)
                if r:
                    writer.write(r)
    except ConnectionError:
        pass
    writer.close()


async def main():
    port = int(sys.argv[1])
    loop = asyncio.get_running_loop()
    udp, _ = await loop.create_datagram_endpoint(Udp, local_addr=('127.0.0.1', port))
    server = await asyncio.start_server(tcp, '127.0.0.1', port)
    async with server:
        await server.serve_forever()

asyncio.run(main())
