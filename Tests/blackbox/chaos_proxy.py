"""A loopback TCP proxy that misbehaves like a bad network: it cuts
connections and stalls them (stops forwarding for a while) at random."""
import asyncio
import random
import threading


class ChaosProxy:
    def __init__(self, target_port, seed=1, cut_every=(2.0, 6.0), stall_for=(0.5, 5.0), stall_chance=0.4):
        self.target_port = target_port
        self.rng = random.Random(seed)
        self.cut_every, self.stall_for, self.stall_chance = cut_every, stall_for, stall_chance
        self.port = None
        self.cuts = 0
        self.stalls = 0
        self.calm = threading.Event()  # set: forward faithfully, no more chaos
        self._connections = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self):
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self):
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._loop.create_task(self._mischief())
        self._ready.set()
        self._loop.run_forever()

    async def _accept(self, reader, writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()  # the hub is down: refuse, as a dead host would
            return
        connection = {"writers": (writer, upstream_writer), "stalled": asyncio.Event()}
        connection["stalled"].set()  # set = flowing
        self._connections.add(id(connection))
        self._live = getattr(self, "_live", {})
        self._live[id(connection)] = connection
        await asyncio.gather(self._pipe(reader, upstream_writer, connection), self._pipe(upstream_reader, writer, connection))
        self._live.pop(id(connection), None)

    async def _pipe(self, reader, writer, connection):
        try:
            while data := await reader.read(65536):
                await connection["stalled"].wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            for w in connection["writers"]:
                w.close()

    async def _mischief(self):
        while True:
            await asyncio.sleep(self.rng.uniform(*self.cut_every))
            if self.calm.is_set():
                for connection in list(getattr(self, "_live", {}).values()):
                    connection["stalled"].set()
                continue
            live = list(getattr(self, "_live", {}).values())
            if not live:
                continue
            for connection in self.rng.sample(live, max(1, len(live) // 4)):
                if self.rng.random() < self.stall_chance:
                    self.stalls += 1
                    connection["stalled"].clear()
                    self._loop.call_later(self.rng.uniform(*self.stall_for), connection["stalled"].set)
                else:
                    self.cuts += 1
                    for w in connection["writers"]:
                        w.transport.abort()
