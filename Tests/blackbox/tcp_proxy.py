"""The black-box suites' one TCP proxy: a loopback relay in front of the hub
that a test can make misbehave like a bad network. `cut()` drops every
connection and, until `restore()`, refuses new ones (an outage); `chaos()`
cuts and stalls connections at random (a flaky link); `calm` stops that;
`deafen()` lets the hub talk while everything the clients send is lost."""
import asyncio
import random
import threading


class TcpProxy:
    def __init__(self, target_port, seed=1):
        self.target_port = target_port
        self.rng = random.Random(seed)
        self.port = None
        self.cuts = 0
        self.stalls = 0
        self.calm = threading.Event()  # set: forward faithfully, no more chaos
        self._open = True
        self._deaf = False
        self._live = {}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self):
        self._loop.call_soon_threadsafe(self._abort_all)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def cut(self):
        """Drops every relayed connection and refuses new ones until `restore`."""
        def cut_now():
            self._open = False
            self._abort_all()
        self._on_loop(cut_now)

    def restore(self):
        self._on_loop(lambda: setattr(self, "_open", True))

    def deafen(self, deaf=True):
        """From now on, drops what clients send (the hub still reaches them):
        a device's answers are lost on the way, as on a one-way broken link."""
        self._on_loop(lambda: setattr(self, "_deaf", deaf))

    def chaos(self, cut_every=(2.0, 6.0), stall_for=(0.5, 5.0), stall_chance=0.4):
        """From now on, every few seconds cuts or stalls a quarter of the connections."""
        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(self._mischief(cut_every, stall_for, stall_chance)))
        return self

    def _on_loop(self, action):
        done = threading.Event()

        def run():
            action()
            done.set()
        self._loop.call_soon_threadsafe(run)
        done.wait(10)

    def _run(self):
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def _abort_all(self):
        for connection in list(self._live.values()):
            for writer in connection["writers"]:
                writer.transport.abort()

    async def _accept(self, reader, writer):
        if not self._open:
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()  # the hub is down: refuse, as a dead host would
            return
        connection = {"writers": (writer, upstream_writer), "flowing": asyncio.Event()}
        connection["flowing"].set()
        self._live[id(connection)] = connection
        await asyncio.gather(self._pipe(reader, upstream_writer, connection, upstream=True),
                             self._pipe(upstream_reader, writer, connection))
        self._live.pop(id(connection), None)

    async def _pipe(self, reader, writer, connection, upstream=False):
        try:
            while data := await reader.read(65536):
                await connection["flowing"].wait()
                if upstream and self._deaf:
                    continue
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            for w in connection["writers"]:
                w.close()

    async def _mischief(self, cut_every, stall_for, stall_chance):
        while True:
            await asyncio.sleep(self.rng.uniform(*cut_every))
            live = list(self._live.values())
            if self.calm.is_set():
                for connection in live:
                    connection["flowing"].set()
                continue
            if not live:
                continue
            for connection in self.rng.sample(live, max(1, len(live) // 4)):
                if self.rng.random() < stall_chance:
                    self.stalls += 1
                    connection["flowing"].clear()
                    self._loop.call_later(self.rng.uniform(*stall_for), connection["flowing"].set)
                else:
                    self.cuts += 1
                    for w in connection["writers"]:
                        w.transport.abort()
