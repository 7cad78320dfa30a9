#!/usr/bin/env python3
"""A WAN between the controller and its hosts, for bench/fleet: one TCP proxy per host.

    bench/latency_proxy.py DELAY_MS LISTEN_IP:PORT=TARGET_IP:PORT ...

Each listener forwards to its target; every chunk read in either direction is delivered at
its arrival time plus DELAY_MS, so a round trip costs twice the delay. Chunks are not
serialized behind one another (a chunk that arrives while an earlier one waits is delivered
DELAY_MS after its own arrival, not after the earlier one's delivery), so throughput is kept
as on a real long link. An end of stream is delayed as the data before it. The TCP
handshake itself is not delayed (the proxy accepts at once): `connect()` returns after no
round trip where a real link would take one, so a new connection here costs one round trip
less than on a WAN. Prints `ready` once every listener is up; stops on SIGTERM.
"""

import asyncio
import signal
import socket
import sys


async def pump(reader, writer, delay):
    """Copy reader to writer, each chunk DELAY seconds after it was read."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(1 << 16)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await delivering
    except (ConnectionError, OSError):
        delivering.cancel()
        raise


async def serve(listen, target, delay):
    async def handle(client_reader, client_writer):
        client_writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            server_reader, server_writer = await asyncio.open_connection(*target)
        except OSError:
            client_writer.close()
            return
        server_writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await asyncio.gather(
                pump(client_reader, server_writer, delay),
                pump(server_reader, client_writer, delay),
            )
        except (ConnectionError, OSError, asyncio.CancelledError):
            # A peer gone, or the proxy stopping.
            pass
        finally:
            client_writer.close()
            server_writer.close()

    return await asyncio.start_server(handle, *listen, backlog=1024, reuse_address=True)


def address(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


async def main():
    delay = float(sys.argv[1]) / 1000
    servers = []
    for spec in sys.argv[2:]:
        listen, target = spec.split("=")
        servers.append(await serve(address(listen), address(target), delay))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    for server in servers:
        server.close()


if __name__ == "__main__":
    asyncio.run(main())
